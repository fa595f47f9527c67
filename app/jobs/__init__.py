"""Work off the UI thread: QThread workers that drive generators (:mod:`.workers`) and the jobs they run (:mod:`.tasks`).

Nothing here touches a widget; torch is imported inside the jobs, in the worker thread.
"""
