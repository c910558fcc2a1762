"""Data and scoring shared by the questions: splits, quantizers, scores, BN-input tails."""
