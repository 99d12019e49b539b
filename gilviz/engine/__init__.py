"""The engine of gilviz: workloads, strategies, the lab process, the sampler
and run results.

It imports no UI library (no Textual, no Rich): the headless command line and
the Textual app are two faces of it. Modules that run *inside* the lab
(``lab``, ``workloads``, ``strategies``, ``slots``, ``model``) use only the
standard library (and ``requests`` for the fetch workload), so the lab can be
started under another interpreter. Modules that run in the parent
(``client``, ``sampler``, ``session``, ``loopback``) may use psutil.

This ``__init__`` imports nothing on purpose, so that importing a lab-side
module never drags in the parent-side dependencies.
"""
