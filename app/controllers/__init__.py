"""UI-thread objects that connect the state, the views and the jobs: the editor and the job controllers.

A controller listens to a panel's signals and to the session, starts workers, and feeds results back through
the panel's typed setters. It never reaches into a panel's child widgets.
"""
