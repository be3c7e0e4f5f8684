"""Search: the query parser, the retriever contract, keyword (database, tantivy) and vector retrievers, fusion,
the search engine the app builds once, "more like this" and personal picks."""
