"""Screens: 入户走访: the visit form, community feedback, questionnaires."""
