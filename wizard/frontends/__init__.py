"""The front ends: they answer the flow's decisions and render its events, nothing else.

``cli`` (flags and the answers file; plain lines or ``--json``), ``plain`` (questionary prompts),
``tui`` (the Textual app). Everything they show comes from :mod:`wizard.events`; everything they
do goes through :mod:`wizard.flow`.
"""
