"""The topic atlas's mathematics, on arrays only (no database): grouping papers' vectors into topics, laying them
out in 2-D, labelling each topic by class-based TF-IDF over its papers' keyphrases, and aligning a build with the
previous one. ``services/topics.py`` feeds it and stores what it returns; ``bench/topics_build.py`` measured it.

- **Grouping**: k-means into many small groups (``MICRO_PAPERS`` papers each, MiniBatchKMeans on the unit
  vectors), then average-linkage agglomeration of the groups' centroids by cosine distance, cut at
  ``MERGE_DISTANCE``: the number of topics is found, not set, and it costs a k-means; every paper gets a topic
  (HDBSCAN would leave many as noise). Its time is in bench/RESULTS.md (bench/topics_build.py).
- **At a million papers**: the vectors may be float16 (a million of them are 768 MB, float32's 1.5 GB would be the
  whole memory budget); the k-means learns from a sample of ``SAMPLE`` papers and every paper is then assigned
  to its nearest group ``SLICE`` at a time, so no float32 copy of all the vectors is ever made.
- **Layout**: t-SNE over the small groups' centroids (cosine), each paper placed at its group's point; a group's
  papers spread along the two main directions of their own spread (found on at most ``SPREAD_SAMPLE`` of them). UMAP
  was tried first: its numba compilation alone took 37 s of a 2-core machine per process and numba would add ~150 MB
  to the install (bench/RESULTS.md).
- **Labels**: c-TF-IDF (BERTopic's class-based TF-IDF): a keyphrase weighs by how often the topic's papers carry
  it, times log(1 + average phrases per topic / its count over all topics). The phrases arrive one at a time with
  the topics of the papers that carry them (:func:`label_topics`), so only phrases a topic holds twice are kept.
- **Alignment**: topics are matched through the papers they share with the previous build (papers keep their ids):
  see :func:`align`.

scikit-learn is imported inside the functions: the web process never loads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MICRO_PAPERS = 40  # papers per small group of the first k-means
MAX_MICRO = 1_000  # small groups at most (100,000 papers: 100 each; a million: 1,000 each)
MERGE_DISTANCE = 0.2  # average cosine distance at which two groups are one topic (bench/topics_labels.py)
MIN_TOPIC = 5  # smaller groups join their nearest topic
SHARE = 0.3  # the share of papers that makes a link between an old and a new topic (alignment)
SEED = 31
SAMPLE = 100_000  # papers the k-means learns its groups from (all of them up to this many)
SLICE = 50_000  # papers converted to float32 at a time: 77 MB
SPREAD_SAMPLE = 256  # papers of a small group whose spread gives its two directions on the map


@dataclass(frozen=True, slots=True)
class Grouping:
    topic_of: np.ndarray  # each paper's topic, 0..k-1
    centroids: np.ndarray  # k unit vectors
    micro_of: np.ndarray  # each paper's small group
    micro_topic: np.ndarray  # each small group's topic
    micro_centroids: np.ndarray


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def one_thread() -> Any:
    """Native thread pools (OpenMP, BLAS) held to one thread while a build runs. On a box whose cores are busy (the
    web process, other work) OpenMP's spinning threads made 13,000 papers take 230 s instead of 32 s
    (bench/RESULTS.md); one thread also leaves the other core to the web."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def group(vectors: np.ndarray, merge_distance: float = MERGE_DISTANCE) -> Grouping:
    """Topics of ``vectors`` (n × d, unit length): small k-means groups, agglomerated by centroid distance."""
    with one_thread():
        return _group(vectors, merge_distance)


def _group(vectors: np.ndarray, merge_distance: float) -> Grouping:
    from sklearn.cluster import AgglomerativeClustering, MiniBatchKMeans

    count = len(vectors)
    micro = max(2, min(MAX_MICRO, count // MICRO_PAPERS))
    # One k-means++ start and few passes: the groups are only the agglomeration's input, and its time grows with
    # papers × groups (bench/topics_build.py).
    kmeans = MiniBatchKMeans(n_clusters=micro, random_state=SEED, batch_size=4096, n_init=1, max_iter=10)
    kmeans.fit(_sample(vectors))
    micro_of = np.concatenate([kmeans.predict(part) for part in _slices(vectors)])
    micro_centroids = unit(kmeans.cluster_centers_)
    weights = np.bincount(micro_of, minlength=micro)
    agglomerate = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=merge_distance
    )
    micro_topic = agglomerate.fit_predict(micro_centroids)
    micro_topic = _absorb_small(micro_topic, micro_centroids, weights)
    topic_of = micro_topic[micro_of]
    centroids = unit(
        np.vstack([vectors[topic_of == t].mean(axis=0, dtype=np.float32) for t in range(micro_topic.max() + 1)])
    )
    return Grouping(topic_of, centroids, micro_of, micro_topic, micro_centroids)


def _sample(vectors: np.ndarray) -> np.ndarray:
    """At most SAMPLE of the vectors, in float32, drawn at random (always the same for the same papers)."""
    if len(vectors) <= SAMPLE:
        return np.asarray(vectors, dtype=np.float32)
    chosen = np.sort(np.random.default_rng(SEED).choice(len(vectors), SAMPLE, replace=False))
    return vectors[chosen].astype(np.float32)


def _slices(vectors: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(vectors), SLICE):
        yield np.asarray(vectors[start : start + SLICE], dtype=np.float32)


def _absorb_small(micro_topic: np.ndarray, micro_centroids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Topics of fewer than MIN_TOPIC papers join the topic whose centroid is nearest; topics renumbered 0..k-1."""
    sizes = np.bincount(micro_topic, weights=weights)
    keep = [t for t in range(len(sizes)) if sizes[t] >= MIN_TOPIC] or [int(np.argmax(sizes))]
    centres = unit(
        np.vstack([(micro_centroids[micro_topic == t] * weights[micro_topic == t, None]).sum(0) for t in keep])
    )
    renumber = {t: i for i, t in enumerate(keep)}
    result = np.empty_like(micro_topic)
    for index, topic in enumerate(micro_topic):
        result[index] = renumber.get(topic, int(np.argmax(centres @ micro_centroids[index])))
    return result


def layout(vectors: np.ndarray, grouping: Grouping) -> tuple[np.ndarray, np.ndarray]:
    """Points in 0..1 for every paper and every topic: t-SNE over the small groups' centroids, each paper near its
    group's point along its group's two main directions."""
    with one_thread():
        spots = _embed_2d(grouping.micro_centroids)
    papers = spots[grouping.micro_of].copy()
    radius = 0.35 * _spacing(spots)
    order = np.argsort(grouping.micro_of, kind="stable")
    bounds = np.cumsum(np.bincount(grouping.micro_of, minlength=len(spots)))
    for members in np.split(order, bounds[:-1]):  # each small group's papers, found with one sort
        if len(members) > 2:
            papers[members] += radius * _spread(vectors[members])
    papers = _normalise(papers)
    topics = np.vstack([papers[grouping.topic_of == t].mean(axis=0) for t in range(len(grouping.centroids))])
    return papers, topics


def _embed_2d(points: np.ndarray) -> np.ndarray:
    """The small groups' centroids on the plane: t-SNE (cosine, started from PCA) keeps neighbours together at a
    few seconds for MAX_MICRO points; fewer than 5 points are projected by PCA."""
    if len(points) < 5:
        return _pca_2d(points)
    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2,
        metric="cosine",
        init="pca",
        perplexity=min(30.0, (len(points) - 1) / 3),
        max_iter=500,  # the map's groups settle well before the default 1,000 (half the time)
        random_state=SEED,
    )
    return np.asarray(tsne.fit_transform(points), dtype=np.float64)


def _pca_2d(points: np.ndarray, learn_from: np.ndarray | None = None) -> np.ndarray:
    """``points`` along the two main directions of ``learn_from`` (by default, of themselves)."""
    basis = points if learn_from is None else learn_from
    mean = basis.mean(axis=0)
    if len(basis) < 2:
        return np.zeros((len(points), 2))
    _, _, components = np.linalg.svd(basis - mean, full_matrices=False)
    projected = (points - mean) @ components[:2].T
    return np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))


def _spread(members: np.ndarray) -> np.ndarray:
    """The members' coordinates along their own two main directions (learnt from at most SPREAD_SAMPLE of them: a
    group of a million-paper build has a thousand), scaled to about -1..1."""
    members = np.asarray(members, dtype=np.float32)
    step = max(1, len(members) // SPREAD_SAMPLE)
    projected = _pca_2d(members, members[::step])
    scale = np.abs(projected).max() or 1.0
    return projected / scale


def _spacing(spots: np.ndarray) -> float:
    """About the distance between neighbouring points: the map's span over the square root of their number."""
    span = float(np.ptp(spots, axis=0).max()) if len(spots) > 1 else 1.0
    return span / max(1.0, math.sqrt(len(spots)))


def _normalise(points: np.ndarray) -> np.ndarray:
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return 0.03 + 0.94 * (points - low) / span


def label_words(phrases: Sequence[Sequence[str]], topic_of: np.ndarray, topics: int, top: int = 5) -> list[list[str]]:
    """Each topic's ``top`` keyphrases (already folded) from each paper's own list: :func:`label_topics`."""
    carriers: dict[str, list[int]] = {}
    for own, topic in zip(phrases, topic_of, strict=True):
        for phrase in set(own):
            carriers.setdefault(phrase, []).append(int(topic))
    return label_topics(((p, np.array(t)) for p, t in carriers.items()), topics, top)


def label_topics(carriers: Iterable[tuple[str, np.ndarray]], topics: int, top: int = 5) -> list[list[str]]:
    """Each topic's ``top`` keyphrases by c-TF-IDF, from each phrase and the topics of the papers that carry it
    (a paper once per phrase). A phrase only one paper of a topic carries is never its label, so only the others
    are kept: a million papers' long tail of phrases costs a count, not memory."""
    held: list[dict[str, int]] = [{} for _ in range(topics)]
    totals = np.zeros(topics, dtype=np.int64)
    overall: dict[str, int] = {}
    for phrase, topic_of in carriers:
        per_topic = np.bincount(topic_of, minlength=topics)
        totals += per_topic
        for topic in np.flatnonzero(per_topic > 1):
            held[topic][phrase] = int(per_topic[topic])
            overall[phrase] = len(topic_of)
    average = int(totals.sum()) / max(1, topics)
    words: list[list[str]] = []
    for counter, total in zip(held, totals.tolist(), strict=True):
        scored = {
            phrase: (n / max(1, total)) * math.log(1 + average / overall[phrase]) for phrase, n in counter.items()
        }
        words.append(_distinct(sorted(scored, key=lambda phrase: (-scored[phrase], phrase)), top))
    return words


def _distinct(ranked: list[str], top: int) -> list[str]:
    """The first ``top`` phrases that neither hold nor are held by one kept before ("large language" is left out
    after "large language models")."""
    kept: list[str] = []
    for phrase in ranked:
        if not any(phrase in other or other in phrase for other in kept):
            kept.append(phrase)
        if len(kept) == top:
            break
    return kept


@dataclass(slots=True)
class Alignment:
    """How a new build's topics relate to the previous build's (indexes into each side's list).

    ``continues[new] = old``: the new topic is the old one, moved on. ``born``: new topics with no old one behind
    them. ``merged[new] = [old, ...]``: old topics that went into the new one besides the one it continues.
    ``split[old] = [new, ...]``: new topics that came out of the old one besides the one continuing it.
    ``faded``: old topics whose papers went nowhere in particular."""

    continues: dict[int, int] = field(default_factory=dict)
    born: list[int] = field(default_factory=list)
    merged: dict[int, list[int]] = field(default_factory=dict)
    split: dict[int, list[int]] = field(default_factory=dict)
    faded: list[int] = field(default_factory=list)


def align(old_of: np.ndarray, new_of: np.ndarray, old_count: int, new_count: int, share: float = SHARE) -> Alignment:
    """Match topics through the papers the two builds share: ``old_of[p]`` and ``new_of[p]`` are the old and new
    topic of each shared paper. An old topic *flows* into a new one when that new topic holds at least ``share``
    of the old topic's shared papers, and *feeds* it when the old topic's papers are at least ``share`` of the new
    one's. A new topic continues the old topic with the biggest overlap among those linked to it either way; a
    second old topic that flows into it merged into it; a second new topic an old one flows into split from it; a
    new topic no old one continues or split into is born; an old topic that flows nowhere faded."""
    overlap = np.zeros((old_count, new_count), dtype=np.int64)
    np.add.at(overlap, (old_of, new_of), 1)
    old_sizes, new_sizes = overlap.sum(axis=1, keepdims=True), overlap.sum(axis=0, keepdims=True)
    flows = (overlap > 0) & (overlap >= share * old_sizes)
    feeds = (overlap > 0) & (overlap >= share * new_sizes)
    result = Alignment()
    taken: set[int] = set()
    linked = np.argwhere(flows | feeds)
    for i, j in sorted(map(tuple, linked), key=lambda pair: -overlap[pair]):
        if i not in taken and j not in result.continues:
            result.continues[int(j)] = int(i)
            taken.add(int(i))
    for i, j in (tuple(int(v) for v in pair) for pair in np.argwhere(flows)):
        if result.continues.get(j) == i:
            continue
        if j in result.continues and i not in taken:
            result.merged.setdefault(j, []).append(i)
            taken.add(i)
        else:
            result.split.setdefault(i, []).append(j)
    children = {j for js in result.split.values() for j in js}
    result.born = [j for j in range(new_count) if j not in result.continues and j not in children]
    result.faded = [i for i in range(old_count) if i not in taken and i not in result.split]
    return result
