"""Everything that needs PyTorch: the networks, their training, the torch engine and ONNX export.
The rest of slotfill (tokenizing, featurizing, decoding, the ONNX engine, serving) runs without it."""
