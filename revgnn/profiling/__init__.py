"""Profiling training steps: each configuration in a fresh process (saved activations, peak
of a step, RSS, time), sweeps and their JSON, one step's peak reversibly and not, and the
calibration of the memory planner's constants from such measurements."""

from revgnn.profiling.profile import machine_info, profile_config, profile_in_subprocess, sweep
from revgnn.profiling.step_peak import step_peak

__all__ = ["machine_info", "profile_config", "profile_in_subprocess", "step_peak", "sweep"]
