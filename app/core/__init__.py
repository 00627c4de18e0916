"""Shared basics every layer imports: errors, actors, row scope, settings (money and time), schema fields.

Nothing here knows a workflow, a screen or HTTP; services, views, the API, documents and reports all
build on it, so the layers run one way (see README, Architecture).
"""
