"""AVA OLO operator tools (``ava-olo`` command): read synthesized templates and, later, AWS itself.

Kept apart from the construct library: these are programs for people and CI, not infrastructure code.
"""
