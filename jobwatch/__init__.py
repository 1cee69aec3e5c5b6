"""jobwatch: watch long-running SaaS jobs from the command line."""

__version__ = "0.1.0"


def long_running() -> None:
    """Start-up is over and a long run begins (a watch, a download, the simulator). The
    console script starts with the cyclic garbage collector off: importing httpx and the rest
    builds thousands of objects and the collections they trigger cost ~15% of start-up, all
    for objects that live as long as the process. From here on it collects again, leaving
    what start-up built out of every scan (freeze)."""
    import gc

    gc.freeze()
    gc.enable()
