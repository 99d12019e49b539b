"""The panels of the gilviz screen, one widget each."""

from ._core_meters import CoreMeters
from ._explainer import Explainer
from ._lab_header import LabHeader
from ._lanes import Lanes, LanesHeader, Legend
from ._presenter import Presenter
from ._scoreboard import Scoreboard

__all__ = ["CoreMeters", "Explainer", "LabHeader", "Lanes", "LanesHeader", "Legend", "Presenter", "Scoreboard"]
