"""Readers of the outside world: the arXiv API and OAI-PMH, the arXiv metadata snapshot and Daily Papers JSON.

Each source turns what it reads into :mod:`papertide.records` values and nothing else; these modules are the
only code in papertide that touches the network, all of it through :mod:`papertide.sources.http`.
"""
