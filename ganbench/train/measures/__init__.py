"""Measures taken at evaluation time: toy mode coverage, the digit classifier's modes and
FID/KID/precision/recall through torch-fidelity."""
