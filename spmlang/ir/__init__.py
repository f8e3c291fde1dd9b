"""The contract between the checker and the engine: typed expressions, the checked plan, its kinds and constants.

The checker makes these; the engine and ``spm test`` read them. Nothing here imports either of them.
"""
