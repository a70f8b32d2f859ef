"""The pack studio: `cytobot studio`, a local web page that shows every card of a pack as Slack,
Discord and the terminal show it, follows edits live, and explains how questions land.

It is read-only: it loads the pack through the bot's loader and engine, renders each reply with
the platform renderers the bot sends with, and never writes to the pack.
"""
