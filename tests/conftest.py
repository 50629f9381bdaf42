import torch

# The suite's graphs are tiny: one thread is faster than two fighting over them, and it keeps
# the timing of CI stable when other processes share the cores.
torch.set_num_threads(1)
