"""Ops added or redefined after opset 17 that have no opset-17 form datagen writes: refused in one line.

None of them occurs in the CNN exports datagen serves (torch writes GroupNorm as InstanceNormalization).
"""

NEW_OP = "the op is new since opset 17"

NO_OPSET17_FORM: dict[str, str] = {
    "AffineGrid": NEW_OP,
    "BitwiseAnd": NEW_OP,
    "BitwiseNot": NEW_OP,
    "BitwiseOr": NEW_OP,
    "BitwiseXor": NEW_OP,
    "CenterCropPad": NEW_OP,
    "Col2Im": NEW_OP,
    "DeformConv": NEW_OP,
    "DFT": "opset 20 made its axis an input",
    # 18 normalised scale and bias per group, 21 per channel; neither exists at 17.
    "GroupNormalization": NEW_OP,
    "ImageDecoder": NEW_OP,
    "RegexFullMatch": NEW_OP,
    "StringConcat": NEW_OP,
    "StringSplit": NEW_OP,
}
