"""A fix trier for many pages while the data services stay as they are: each dataset is
tried once, whichever page (the agency's Swedish or English page, the dataset's own) asks
first.

Datasets are recognised by their description (the digest of the model's ``repr``, which
holds every field), so a copy loaded again for another page finds the trial and the
gains of the first. At most :data:`KEPT` datasets are remembered, the least recently
asked for forgotten first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import blake2b

from dcatwatch.dcat.model import DataService, Dataset
from dcatwatch.reports.fixes import FixRule, Gain, Trial, Trier

KEPT = 5_000  # datasets remembered: a large agency's, for its page in the second language


@dataclass(frozen=True, slots=True)
class _Tried(Trial):
    """A trial with the gains of the fixes tried on it so far."""

    gains: dict[str, Gain | None] = field(default_factory=dict)


class SharedTrier(Trier):
    """:class:`~dcatwatch.reports.fixes.Trier` that remembers trials and gains."""

    def __init__(self, services: Mapping[str, DataService],
                 serving: Mapping[str, list[DataService]]) -> None:
        super().__init__(services, serving)
        self._plain = Trier(services, serving)  # tries the changed copies, unremembered
        self._kept: OrderedDict[bytes, _Tried] = OrderedDict()
        self._lock = threading.Lock()

    def trial(self, dataset: Dataset) -> Trial:
        """The dataset as the scoring sees it, tried once per description."""
        key = blake2b(repr(dataset).encode(), digest_size=16).digest()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        trial = self._plain.trial(dataset)
        kept = _Tried(trial.dataset, trial.level, trial.mqa)
        with self._lock:
            self._kept[key] = kept
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return kept

    def gain(self, rule: FixRule, trial: Trial) -> Gain | None:
        """What ``rule`` earns on this dataset, worked out once per trial."""
        if not isinstance(trial, _Tried):
            return self._plain.gain(rule, trial)
        if rule.id not in trial.gains:
            trial.gains[rule.id] = self._plain.gain(rule, trial)
        return trial.gains[rule.id]
