# Shared by the outside days written from the eleventh session on: a shop's day-shaped traffic.
import datetime, math, random, sys


def args(default_peak):
    """The command line of an outside day, `SCRIPT SEED OUT [PEAK]`: (the output path, the peak
    rate, the day's random generator seeded with SEED)."""
    seed = int(sys.argv[1])
    peak = float(sys.argv[3]) if len(sys.argv) > 3 else default_peak
    return sys.argv[2], peak, random.Random(seed)


def minutes(r, start, days, peak, trough):
    """Each minute of `days` days from `start`: (minute index, its start, its event count). The rate
    follows the day (`trough` of `peak` at night, `peak` at 14:00) with Poisson-like noise."""
    for m in range(days * 1440):
        t0 = start + datetime.timedelta(minutes=m)
        hour = (m % 1440) / 60
        rate = peak * (trough + (1 - trough) * max(0.0, math.sin(math.pi * (hour - 5) / 18)))
        n = max(0, int(rate + r.gauss(0, math.sqrt(rate + 1e-9))))
        yield m, t0, n


def at(r, t0):
    """A moment within the minute starting at `t0`."""
    return t0 + datetime.timedelta(seconds=r.random() * 60)
