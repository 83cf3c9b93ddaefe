"""Fitting, validating and calibrating the speed model of advisor.estimate on measurements, never a copy of it."""
