"""An example shouxie plugin: two ops, a data generator and a CSV result sink.

The entry point ``example = "shouxie_example_plugin"`` (group ``shouxie``) makes shouxie register
this module; the ``@hookimpl`` functions below are the hooks it implements.
"""
from shouxie.plugins import hookimpl

from .csv_sink import shouxie_record, shouxie_run_started
from .ops import box_areas, gaussian_blur, noisy_image

__all__ = ["box_areas", "gaussian_blur", "noisy_image", "shouxie_record", "shouxie_register_ops",
           "shouxie_run_started"]


@hookimpl
def shouxie_register_ops(registry):
    registry.add("example.gaussian_blur", gaussian_blur)
    registry.add("example.box_areas", box_areas)
    registry.add("example.noisy_image", noisy_image)
