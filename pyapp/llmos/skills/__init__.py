"""Agent Skills in LLMos: the spec (:mod:`.spec`), the store in the user volume (:mod:`.store`)
and the ``skills.*`` OS methods (:mod:`.methods`)."""
