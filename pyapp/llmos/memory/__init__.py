"""Semantic memory: what LLMos remembers, by meaning, on the user's device.

- :mod:`.tokenizer`  BERT WordPiece for all-MiniLM-L6-v2 (pure Python, parity with ``tokenizers``)
- :mod:`.embedder`   text -> L2-normalised 384-d vectors over an :class:`EmbeddingEngine` seam
- :mod:`.store`      the persistent vector store (append-only float32 segments + a record log)
- :mod:`.index`      exact top-k cosine search over the store's rows (pure Python, numpy, JS)
- :mod:`.keyword`    BM25 over the same records
- :mod:`.recall`     hybrid recall: vector + keyword + recency, weights from settings

Vectors are ``array.array("f")``: the browser core has no numpy.
"""
