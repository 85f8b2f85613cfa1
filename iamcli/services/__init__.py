"""Flavor-neutral verbs: what a command asks for, decided here, spoken by a flavor."""
