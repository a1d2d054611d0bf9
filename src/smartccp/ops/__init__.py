"""Running a deployed SmartCCP: the deployment file (:mod:`.spec`), deployment in stages and
reattaching (:mod:`.deploy`), chain time and waiting for it (:mod:`.clock`), the daily operations
(:mod:`.daily`) and the keeper that runs whatever is due (:mod:`.keeper`).

``ape run deploy`` and ``ape run ops <command>`` are thin wrappers over these; the demo and the
drills use the same operations (on ape's local chain their clock may move forward instead of
waiting). Nothing here moves a real network's clock.
"""
