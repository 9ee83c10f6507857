// ResNets (He et al. 2016, "Deep Residual Learning for Image Recognition", Table 1) as torchvision
// builds them (v1.5: the stride of a downsampling bottleneck sits on its 3x3 convolution).
//
// Layout: stem (conv 7x7/2, batchnorm, relu, maxpool 3x3/2), layers.<i> (type "resnet_block",
// bottlenecks 1x1 -> 3x3 -> 1x1 x4 with a 1x1 projection on the first block of a stage), head
// (global average pool, fc), loss. A convolution over an h x w output with c in and k out
// channels and an r x s kernel does c*k*r*s*h*w multiply-adds (2 FLOPs each).
// Worked example: resnet50 at 224x224: 25,557,032 parameters (torchvision), 4.09e9 multiply-adds
// per image forward (convolutions and fc), i.e. 8.18e9 model FLOPs.
#pragma once

#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/model/zoo.h"

namespace proteus {

std::vector<std::string> ResNetNames();  // "resnet50", "resnet101", "resnet152"
bool IsResNet(const std::string& name);
/// Builds a ResNet; options image_size (default 224, at least 32), dtype (default fp32: the
/// classic training setup) and name apply; transformer options are rejected. UserError at `origin`.
Model BuildResNet(const std::string& name, const ZooOptions& options, const std::string& origin);

}  // namespace proteus
