"""The LLM layer: message types, engines behind one interface, and the router between them."""
