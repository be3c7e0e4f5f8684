"""Search: the query parser now; keyword and semantic retrievers, fusion and "more like this" next."""
