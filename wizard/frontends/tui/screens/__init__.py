"""Screens: each renders one stage and forwards to the engine through workers."""
