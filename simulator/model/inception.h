// Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision")
// as torchvision builds it (torchvision.models.inception_v3, aux_logits=True: its default, and what
// training runs: the auxiliary classifier's loss is added to the main one).
//
// Layout: stem (Conv2d_1a..4a with two max pools; every conv is torchvision's BasicConv2d: conv
// without bias -> batchnorm -> ReLU), layers.0..10 (type "inception_block": Mixed_5b, 5c, 5d
// (InceptionA), 6a (B), 6b..6e (C), 7a (D), 7b, 7c (E)), aux (type "aux_head", InceptionAux on
// Mixed_6e = layers.7's output), head (global average pool, dropout, fc), loss (cross_entropy and
// aux_cross_entropy). A block's branches are ops named "<branch>_conv/_bn/_relu" (torchvision's
// names: branch1x1, branch5x5_1, ...) joined by a concat op ("concat"; InceptionE also joins its
// 1x3 / 3x1 pairs: "branch3x3_concat", "branch3x3dbl_concat").
//
// Parameters, by hand (BasicConv2d(in, out, kh x kw) = in*out*kh*kw + 2*out, batchnorm gamma and
// beta; running statistics are buffers):
//   stem  1a 3->32 3x3: 928; 2a 32->32 3x3: 9,280; 2b 32->64 3x3: 18,560; 3b 64->80 1x1: 5,280;
//         4a 80->192 3x3: 138,624                                               = 172,672
//   InceptionA(in, pf) = in*(176 + pf) + 215,904 + 2*pf   (1x1 64; 1x1 48 -> 5x5 64; 1x1 64 ->
//         3x3 96 -> 3x3 96; avg pool -> 1x1 pf)
//         5b (192, 32) 255,904; 5c (256, 64) 277,472; 5d (288, 64) 285,152
//   InceptionB(288) = 3x3/2 384: 996,096 + 1x1 64: 18,560 + 3x3 96: 55,488 + 3x3/2 96: 83,136
//                                                                               = 1,153,280
//   InceptionC(768, c7) = 296,448 + 28*c7^2 + 4,236*c7  (1x1 192 twice; 1x1 c7 twice; five
//         1x7/7x1 c7->c7 or c7->192 pairs as torchvision orders them; avg pool -> 1x1 192)
//         6b (128) 1,297,408; 6c, 6d (160) 1,691,008 each; 6e (192) 2,141,952
//   InceptionD(768) = 1x1 192: 147,840 + 3x3/2 320: 553,600 + 1x1 192: 147,840 + 1x7 192:
//         258,432 + 7x1 192: 258,432 + 3x3/2 192: 332,160                      = 1,698,304
//   InceptionE(in) = in*1,344 + 3,324,288  (1x1 320; 1x1 384 -> 1x3 and 3x1 384; 1x1 448 -> 3x3
//         384 -> 1x3 and 3x1 384; avg pool -> 1x1 192)
//         7b (1280) 5,044,608; 7c (2048) 6,076,800
//   fc 2048 -> 1000: 2,049,000
//   aux: 1x1 768->128: 98,560; 5x5 128->768: 2,459,136; fc 768->1000: 769,000  = 3,326,696
//   total 27,161,264 (23,834,568 without aux), torchvision's counts.
//
// Sizes at 299x299: stem 149, 147, 147, 73, 73, 71, 35; Mixed_5* 35; 6a -> 17; 7a -> 8; aux avg
// pool 5x5/3 -> 5, its 5x5 conv -> 1. The aux classifier's 5x5 conv needs Mixed_6e's map to be at
// least 17 pixels, which only images of 299 and more give: smaller images need aux_logits false
// (down to 75, torchvision's minimum, where Mixed_7a still gets a 3x3 map).
#pragma once

#include <string>

#include "simulator/model/module.h"
#include "simulator/model/zoo.h"

namespace proteus {

constexpr const char* kInceptionV3 = "inception-v3";

/// Builds Inception-v3; options image_size (default 299; at least 299 with the auxiliary
/// classifier, 75 without), aux_logits (default true), dtype (default fp32) and name apply;
/// transformer options are rejected. UserError at `<origin>: <field>`.
Model BuildInceptionV3(const ZooOptions& options, const std::string& origin);

}  // namespace proteus
