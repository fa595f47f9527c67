"""What the user sees and touches: the canvas, its mask layer, the compare view, pixel rendering, and the dock panels.

Views hold no application state: they emit signals for what the user does and show what typed setters give them.
"""
