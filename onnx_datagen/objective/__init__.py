"""The optimisation objective: synthetic statistics, BN alignment, output loss, layer weighting.

Loss terms take torch tensors; each concern module ends with its enum -> function table.
"""
