"""The Textual face of gilviz: lanes, core meters, scoreboard and explainer.

The engine (``gilviz.engine``) does the work in a lab process; this package
only draws what the engine measured.
"""
