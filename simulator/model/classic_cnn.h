// AlexNet and VGG as torchvision builds them (torchvision.models.alexnet, vgg16, vgg19: no batch
// norm), the CNNs of the original Proteus' evaluation.
//
// AlexNet (Krizhevsky et al. 2012, in torchvision's one-GPU variant after Krizhevsky 2014, "One
// weird trick"): five convolutions with bias and ReLU, max pools 3x3/2 after the 1st, 2nd and 5th,
// adaptive average pool to 6x6, classifier dropout -> fc 9216->4096 -> ReLU -> dropout -> fc
// 4096->4096 -> ReLU -> fc 4096->1000. VGG (Simonyan & Zisserman 2015, Table 1, configurations
// D = VGG-16 and E = VGG-19): 3x3 pad 1 convolutions with bias and ReLU in five stages of 64, 128,
// 256, 512, 512 channels, each closed by a max pool 2x2/2, adaptive average pool to 7x7, classifier
// fc 25088->4096 -> ReLU -> dropout -> fc 4096->4096 -> ReLU -> dropout -> fc 4096->1000.
//
// Layout: layers.<i> (type "conv_block": conv, relu [, maxpool]), head (avgpool when the map is
// not already 6x6 / 7x7, the classifier), loss.
//
// Worked example: AlexNet at 224x224, forward multiply-adds per image (out = (in+2p-k)/s+1):
//   conv1 11x11/4 p2  3->64     55x55:  3*64*121*3025   =  70,276,800   maxpool -> 27
//   conv2 5x5 p2     64->192    27x27:  64*192*25*729   = 223,948,800   maxpool -> 13
//   conv3 3x3 p1    192->384    13x13:  192*384*9*169   = 112,140,288
//   conv4 3x3 p1    384->256    13x13:  384*256*9*169   = 149,520,384
//   conv5 3x3 p1    256->256    13x13:  256*256*9*169   =  99,680,256   maxpool -> 6
//   fc1 9216->4096 37,748,736; fc2 4096->4096 16,777,216; fc3 4096->1000 4,096,000
//   total 714,188,480 multiply-adds = 1,428,376,960 model FLOPs (biases, ReLU, pools: 0).
// Parameters: 61,100,840 (AlexNet), 138,357,544 (VGG-16), 143,667,240 (VGG-19), as torchvision.
#pragma once

#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/model/zoo.h"

namespace proteus {

std::vector<std::string> ClassicCnnNames();  // "alexnet", "vgg16", "vgg19"
bool IsClassicCnn(const std::string& name);
/// Builds AlexNet or a VGG; options image_size (default 224; at least 63 for AlexNet, 32 for VGG:
/// below, a pooling window is larger than its map, which torchvision refuses too), dtype (default
/// fp32) and name apply; transformer options are rejected. UserError at `<origin>: <field>`.
Model BuildClassicCnn(const std::string& name, const ZooOptions& options, const std::string& origin);

}  // namespace proteus
