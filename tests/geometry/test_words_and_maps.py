"""portalit.geometry on real data: GloVe 6B 50d, the Google analogy set, real CLIP-family features."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from portalit import geometry
from portalit.errors import PortalitError
from portalit.geometry import evaluation, projection
from portalit.models import WordVectors, load_glove

from ..conftest import ROOT


@pytest.fixture(scope="module")
def glove():
    return load_glove()


def words_of(result, key="results"):
    return [r["word"] for r in result[key]]


def gensim_vectors(words, vectors):
    """gensim KeyedVectors over exactly these arrays (the peer every comparison here uses)."""
    gensim_kv = pytest.importorskip("gensim.models").KeyedVectors
    kv = gensim_kv(vectors.shape[1], dtype=np.float32)
    kv.add_vectors(words, vectors)
    return kv


def one_blas_thread():
    # Only for speed: gensim's products under OpenBLAS's own threads crawl on a busy 2-core box.
    return pytest.importorskip("threadpoolctl").threadpool_limits(1)


# --- cosine and neighbours -------------------------------------------------------------------

def test_cosine_shapes_and_values():
    a = np.array([1.0, 0.0])
    assert geometry.cosine(a, [0.0, 2.0]) == pytest.approx(0.0)
    assert geometry.cosine(a, [3.0, 0.0]) == pytest.approx(1.0)
    assert geometry.cosine(np.eye(2), np.ones((3, 2))).shape == (2, 3)
    assert geometry.cosine(a, np.eye(2)) == pytest.approx([1.0, 0.0])
    assert geometry.cosine(a, [0.0, 0.0]) == 0.0  # zero vector: 0, not NaN
    with pytest.raises(PortalitError, match="dimensions differ"):
        geometry.cosine([1, 2, 3], [1, 2])


def test_neighbours_are_exact_over_the_whole_vocabulary(glove):
    found = geometry.neighbours("frog", k=5)
    brute = glove.unit @ glove.unit[glove.index["frog"]]
    brute[glove.index["frog"]] = -np.inf
    expected = [glove.words[i] for i in np.argsort(-brute)[:5]]
    assert [w for w, _ in found] == expected
    assert [s for _, s in found] == pytest.approx(np.sort(brute)[::-1][:5].tolist(), abs=1e-5)


def test_neighbours_of_a_vector_include_the_word_and_exclusions_apply(glove):
    found = geometry.neighbours(glove.vectors[glove.index["paris"]], k=3)
    assert found[0][0] == "paris" and found[0][1] == pytest.approx(1.0, abs=1e-5)
    skipped = geometry.neighbours("paris", k=5, exclude=["france", "Prague", "not-a-word-at-all"])
    assert "paris" not in [w for w, _ in skipped] and "france" not in [w for w, _ in skipped]
    assert "prague" not in [w for w, _ in skipped] and len(skipped) == 5


def test_top_indices_matches_a_full_sort():
    rng = np.random.default_rng(0)
    for size in (5, 1000, 400_000):
        scores = np.round(rng.standard_normal(size), 2).astype(np.float32)  # many ties
        skip = {0, 3}
        got = geometry.top_indices(scores, 10, skip)
        ranked = [i for i in np.argsort(-scores, kind="stable") if i not in skip][:10]
        assert scores[got].tolist() == scores[ranked].tolist()
        assert got == [int(i) for i in ranked]  # ties go to the lower index, so runs agree
        assert not skip & set(got)


# --- analogies -----------------------------------------------------------------------------

def test_king_man_woman_gives_queen_with_the_only_b_baseline():
    result = geometry.analogy("king", "man", "woman")
    assert result["query"] == "king - man + woman"
    assert result["results"][0]["word"] == "queen"
    assert result["results"][0]["score"] == pytest.approx(0.852, abs=0.005)
    assert len(result["results"]) == 10
    # Linzen (2016): the neighbours of "woman" alone, with the same exclusion, shown beside it.
    assert words_of(result, "only_b")[:3] == ["girl", "mother", "her"]
    alone = geometry.neighbours("woman", k=10, exclude=["king", "man"])
    assert words_of(result, "only_b") == [w for w, _ in alone]
    assert not {"king", "man", "woman"} & set(words_of(result) + words_of(result, "only_b"))


def test_analogy_payload_is_the_cli_json():
    payload = geometry.analogy_payload(geometry.analogy("king", "man", "woman", k=2))
    assert set(payload) == {"query", "method", "exclude_inputs", "results", "only_b"}
    assert payload["results"][0] == {"word": "queen", "score": pytest.approx(0.852, abs=0.005)}
    assert all(type(r["score"]) is float for r in payload["results"] + payload["only_b"])


def test_products_split_over_threads_equal_one_product(glove):
    queries = glove.unit[[10, 20, 30]]
    assert np.allclose(geometry.products(queries), queries @ glove.unit.T, atol=1e-5)


def test_more_analogies_and_case_folding():
    assert words_of(geometry.analogy("paris", "france", "italy", k=1)) == ["rome"]
    assert geometry.analogy("King", "MAN", " Woman ", k=3) == geometry.analogy("king", "man", "woman", k=3)


def test_without_exclusion_the_input_word_comes_back_first():
    # Nissim et al. (2020): the famous answer relies on excluding the inputs. With GloVe 50d,
    # 3CosAdd's nearest vector to king - man + woman is king itself (0.886), queen only second.
    result = geometry.analogy("king", "man", "woman", k=3, exclude_inputs=False)
    assert words_of(result)[:2] == ["king", "queen"]
    assert result["exclude_inputs"] is False
    assert result["only_b"][0] == {"word": "woman", "score": pytest.approx(1.0, abs=1e-5)}
    # 3CosMul's ratio penalises closeness to "man", so queen stays first even without exclusion.
    cosmul = geometry.analogy("king", "man", "woman", k=2, method="3cosmul", exclude_inputs=False)
    assert words_of(cosmul) == ["queen", "king"]


def test_3cosmul_gives_queen_and_matches_levy_goldberg(glove):
    result = geometry.analogy("king", "man", "woman", k=5, method="3cosmul")
    assert result["method"] == "3cosmul" and result["results"][0]["word"] == "queen"
    rows = [glove.index[w] for w in ("king", "man", "woman", "queen")]
    cos = (glove.unit[rows[:3]] @ glove.unit[rows[3]] + 1) / 2
    assert result["results"][0]["score"] == pytest.approx(cos[0] * cos[2] / (cos[1] + 1e-3), rel=1e-5)


def test_analogy_agrees_with_gensim_most_similar(glove):
    kv = gensim_vectors(glove.words, glove.vectors)
    for a, b, c in [("king", "man", "woman"), ("paris", "france", "japan"), ("walking", "walk", "swim")]:
        ours = geometry.analogy(a, b, c, k=5, baseline=False)
        theirs = kv.most_similar(positive=[a, c], negative=[b], topn=5)
        assert words_of(ours) == [w for w, _ in theirs]
        assert [r["score"] for r in ours["results"]] == pytest.approx([s for _, s in theirs], abs=1e-5)
        assert ours["only_b"] == []
        mul = geometry.analogy(a, b, c, k=5, method="3cosmul", baseline=False)
        assert words_of(mul) == [w for w, _ in kv.most_similar_cosmul(positive=[a, c], negative=[b], topn=5)]


def test_unknown_word_error_names_it_and_suggests_spellings():
    with pytest.raises(PortalitError) as caught:
        geometry.analogy("king", "man", "qeen")
    message = str(caught.value)
    assert "'qeen'" in message and "queen" in message and "\n" not in message
    with pytest.raises(PortalitError, match="'kingg'.*king"):
        geometry.neighbours("kingg")
    with pytest.raises(PortalitError, match="empty word"):
        geometry.word_index("  ")
    assert geometry.suggest("helicoptr")[0] == "helicopter"


def test_bad_method_and_k_are_user_errors():
    with pytest.raises(PortalitError, match="3cosadd, 3cosmul"):
        geometry.analogy("king", "man", "woman", method="3cosavg")
    with pytest.raises(PortalitError, match="k must be"):
        geometry.neighbours("king", k=0)
    with pytest.raises(PortalitError, match="50"):
        geometry.neighbours(np.ones(7))


# --- the Google analogy evaluation, against gensim -------------------------------------------

def gensim_evaluation(glove, path, restrict_vocab, case_insensitive=True):
    kv = gensim_vectors(glove.words, glove.vectors)
    with one_blas_thread():
        score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab,
                                                     case_insensitive=case_insensitive)
    counts = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    return score, counts


@pytest.fixture(scope="module")
def question_sample(tmp_path_factory):
    """Every 40th question of the Google set (about 490), sections kept."""
    lines, count = [], 0
    for line in geometry.google_analogies_path().read_text().splitlines():
        if line.startswith(":"):
            lines.append(line)
        else:
            count += 1
            if count % 40 == 0:
                lines.append(line)
    path = tmp_path_factory.mktemp("analogies") / "sample.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(30000, True), (None, True), (100000, False)])
def test_evaluation_equals_gensim_on_a_sample(glove, question_sample, restrict_vocab, case_insensitive):
    ours = geometry.evaluate_analogies(question_sample, restrict_vocab=restrict_vocab,
                                       case_insensitive=case_insensitive)
    score, sections = gensim_evaluation(glove, question_sample, restrict_vocab or len(glove),
                                        case_insensitive)
    assert ours["accuracy"] == score
    total = sections.pop("Total accuracy")
    assert (ours["correct"], ours["answered"]) == total
    assert {name: (s["correct"], s["answered"]) for name, s in ours["sections"].items()} == sections


def test_evaluation_replays_gensim_when_a_case_variant_wins(glove, question_sample, monkeypatch):
    # GloVe is lower-case, so gensim's "skip answers that fold to a question word" rule never fires
    # on it. Real GloVe vectors under a vocabulary with capitalised duplicates make it fire.
    keep = 20000
    words = list(glove.words[:keep])
    asked = set(question_sample.read_text().lower().split()) & set(words)
    extra = sorted(asked)
    rows = list(range(keep)) + [glove.index[w] for w in extra]
    words += [w.capitalize() for w in extra]
    vectors = np.ascontiguousarray(glove.vectors[rows])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    table = WordVectors(words, vectors, unit, {w: i for i, w in enumerate(words)})
    with one_blas_thread():
        score, _ = gensim_vectors(words, vectors).evaluate_word_analogies(str(question_sample),
                                                                          restrict_vocab=len(words))
    replayed = []
    original = evaluation._gensim_answer
    monkeypatch.setattr(evaluation, "_gensim_answer", lambda *a: replayed.append(a) or original(*a))
    assert geometry.evaluate_analogies(question_sample, vectors=table)["accuracy"] == score
    assert replayed  # the case-variant rule really was exercised


def test_evaluation_report_shape_and_errors(tmp_path):
    result = geometry.evaluate_analogies(restrict_vocab=30000)
    assert result["questions"] == 19544
    assert set(result) >= {"questions", "answered", "accuracy", "seconds", "sections"}
    assert 0 < result["answered"] < result["questions"] and len(result["sections"]) == 14
    assert result["sections"]["capital-common-countries"]["answered"] == 506
    with pytest.raises(PortalitError, match="not found"):
        geometry.evaluate_analogies(tmp_path / "missing.txt")
    with pytest.raises(PortalitError, match="restrict_vocab"):
        geometry.evaluate_analogies(restrict_vocab=0)
    headless = tmp_path / "headless.txt"
    headless.write_text("athens greece baghdad iraq\n")
    with pytest.raises(PortalitError, match="section"):
        geometry.evaluate_analogies(headless)


@pytest.mark.slow
def test_full_evaluation_equals_gensim_at_30000_words(glove):
    ours = geometry.evaluate_analogies(restrict_vocab=30000)
    score, sections = gensim_evaluation(glove, geometry.google_analogies_path(), 30000)
    assert ours["accuracy"] == score
    assert round(score, 3) == 0.497
    assert (ours["correct"], ours["answered"]) == sections.pop("Total accuracy")
    assert {name: (s["correct"], s["answered"]) for name, s in ours["sections"].items()} == sections


# --- projections -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def word_matrix(glove):
    return glove.vectors[100:400]


def test_pca_matches_the_covariance_spectrum(word_matrix):
    result = geometry.project(word_matrix, "pca", n_components=3)
    assert result.coords.shape == (300, 3) and result.method == "pca" and result.note == ""
    centred = word_matrix - word_matrix.mean(axis=0)
    eigen = np.sort(np.linalg.eigvalsh(np.cov(centred.T.astype(np.float64))))[::-1]
    assert result.coords.var(axis=0, ddof=1) == pytest.approx(eigen[:3], rel=1e-4)
    assert np.array_equal(result.coords, geometry.project(word_matrix, "pca", n_components=3).coords)


def test_umap_is_seeded_and_cached_in_memory_and_on_disk(word_matrix, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTALIT_CACHE", str(tmp_path))
    monkeypatch.setattr(projection, "_MEMORY", {})
    first = geometry.project(word_matrix, "umap", seed=1)
    assert first.coords.shape == (300, 2) and first.method == "umap" and not first.cached
    assert len(list((tmp_path / "umap").glob("*.npy"))) == 1
    again = geometry.project(word_matrix, "umap", seed=1)
    assert again.cached and np.array_equal(again.coords, first.coords)
    projection._MEMORY.clear()
    from_disk = geometry.project(word_matrix, "umap", seed=1)
    assert from_disk.cached and np.array_equal(from_disk.coords, first.coords)


def test_umap_gets_the_exact_cosine_neighbours_with_each_point_first(glove):
    X = np.vstack([glove.vectors[:2500], glove.vectors[5:6]]).astype(np.float64)  # row 2500 = row 5
    indices, distances = projection._exact_knn(X, 15)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    full = 1.0 - unit @ unit.T
    assert np.array_equal(indices[:, 0], np.arange(len(X)))  # itself first, even beside its duplicate
    assert indices[5, 1] == 2500 and indices[2500, 1] == 5 and distances[5, 1] == pytest.approx(0, abs=1e-6)
    for row in (0, 17, 1024, 2047, 2499):
        expected = [j for j in np.argsort(full[row], kind="stable") if j != row][:14]
        assert set(indices[row, 1:]) == set(expected)
        assert distances[row] == pytest.approx(np.clip(full[row, indices[row]], 0, 2), abs=1e-5)
    assert np.all(np.diff(distances[:, 1:], axis=1) >= 0)
    assert projection._exact_knn(np.zeros((projection.EXACT_KNN_POINTS + 1, 2)), 15) == (None, None, None)


def test_umap_falls_back_to_pca_for_few_points_and_rejects_bad_input(word_matrix):
    small = geometry.project(word_matrix[:10], "umap")
    assert small.method == "pca" and "PCA" in small.note and small.coords.shape == (10, 2)
    one = geometry.project(word_matrix[:1], "pca")
    assert one.coords.shape == (1, 2) and "zeros" in one.note
    with pytest.raises(PortalitError, match="empty"):
        geometry.project(np.empty((0, 50)))
    with pytest.raises(PortalitError, match="empty"):
        geometry.project([])
    with pytest.raises(PortalitError, match="pca, umap"):
        geometry.project(word_matrix, "tsne")


# --- alignment between spaces ------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_views(glove):
    """1000 GloVe words and the same words in a rotated, rescaled copy of the space."""
    X = glove.vectors[1000:2000].astype(np.float64)
    rotation, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((50, 50)))
    return X, 3.0 * X @ rotation


def test_identical_spaces_align_perfectly(two_views):
    X, Y = two_views
    knn = geometry.mutual_knn_alignment(X, Y, k=10)
    assert knn["score"] == pytest.approx(1.0)
    assert knn["chance"] == pytest.approx(10 / 999)
    assert abs(knn["shuffled"] - knn["chance"]) < 0.01
    assert geometry.linear_cka(X, Y + 5.0) == pytest.approx(1.0)
    assert geometry.procrustes(X, Y + 5.0)["disparity"] == pytest.approx(0.0, abs=1e-9)
    mapped = geometry.linear_map_retrieval(X, Y)
    assert mapped["accuracy"] == 1.0 and mapped["chance"] == pytest.approx(1 / 200)


def test_unrelated_spaces_score_near_chance(two_views):
    X, Y = two_views
    Y = Y[np.random.default_rng(1).permutation(len(Y))]
    knn = geometry.mutual_knn_alignment(X, Y)
    assert knn["score"] < 3 * knn["chance"]
    assert geometry.linear_cka(X, Y) < 0.1
    assert geometry.procrustes(X, Y)["disparity"] > 0.8
    assert geometry.linear_map_retrieval(X, Y)["accuracy"] < 0.05


def test_procrustes_reduces_the_wider_space_by_pca(two_views):
    X, _ = two_views
    basis, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((80, 50)))
    wide = X @ basis.T  # the same geometry inside 80 dimensions
    result = geometry.procrustes(X, wide)
    assert result["dim"] == 50 and "80 to 50" in result["note"]
    assert result["disparity"] == pytest.approx(0.0, abs=1e-9)
    assert result["aligned"].shape == (1000, 50)


def test_image_and_text_towers_align_above_chance():
    images, texts = geometry.load_modality_features("clip")
    knn = geometry.mutual_knn_alignment(images, texts, k=10)
    assert knn["score"] > 5 * knn["chance"] and knn["shuffled"] < 2 * knn["chance"]
    untrained = geometry.load_modality_features("clip_random")
    assert geometry.linear_cka(images, texts) > 2 * geometry.linear_cka(*untrained)


def test_mismatched_item_counts_name_both_counts(two_views):
    X, Y = two_views
    for function in (geometry.mutual_knn_alignment, geometry.linear_cka, geometry.procrustes,
                     geometry.linear_map_retrieval):
        with pytest.raises(PortalitError, match="1000 rows but Y has 999"):
            function(X, Y[:999])
    with pytest.raises(PortalitError, match="k must be"):
        geometry.mutual_knn_alignment(X[:5], Y[:5], k=5)


# --- the modality gap on real features ----------------------------------------------------------

def test_clip_modality_gap_matches_the_paper_and_shrinks_when_centred():
    images, texts = geometry.load_modality_features("clip")
    assert images.shape == texts.shape == (500, 512)
    gap = geometry.modality_gap(images, texts)
    assert gap["matched_cosine"] > gap["random_cosine"] + 0.1
    assert gap["gap"] == pytest.approx(0.85, abs=0.01)
    assert gap["retrieval_top1"] == pytest.approx(0.552) and gap["chance"] == 1 / 500
    centred = gap["centred"]
    assert centred["gap"] < 0.05 < gap["gap"]
    assert centred["retrieval_top1"] > 0.5  # closing the gap barely changes retrieval
    assert geometry.modality_gap(*geometry.load_modality_features("clip_random"))["gap"] > gap["gap"]


@pytest.mark.parametrize("name", ["videoclip", "clasp"])
def test_other_trained_models_also_show_a_gap(name):
    gap = geometry.modality_gap(*geometry.load_modality_features(name))
    assert gap["gap"] > 0.8 and gap["centred"]["gap"] < 0.2
    assert gap["matched_cosine"] > gap["random_cosine"]
    assert gap["retrieval_top1"] > 2 * gap["chance"]


def test_modality_feature_errors_and_data_override(tmp_path, monkeypatch):
    assert {"clip", "clip_random", "videoclip", "clasp"} <= set(geometry.modality_feature_names())
    with pytest.raises(PortalitError, match="unknown modality features 'audio'.*clip"):
        geometry.load_modality_features("audio")
    images, texts = geometry.load_modality_features("clip")
    with pytest.raises(PortalitError, match="500 rows but B has 499"):
        geometry.modality_gap(images, texts[:499])
    (tmp_path / "modality-gap").mkdir()
    np.save(tmp_path / "modality-gap" / "features_tiny.npy", np.stack([images[:20], texts[:20]]))
    monkeypatch.setenv("PORTALIT_DATA", str(tmp_path))
    assert geometry.modality_feature_names() == ["tiny"]
    assert geometry.modality_gap(*geometry.load_modality_features("tiny"))["n"] == 20


# --- import cost and the benchmark -------------------------------------------------------------

def test_importing_geometry_pulls_in_no_heavy_library():
    import subprocess

    code = ("import sys, portalit.geometry; "
            "print(sorted(m for m in ('umap', 'sklearn', 'gensim', 'numba', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert out.stdout.strip() == "[]"


def test_benchmark_reports_ours_peer_and_ratio():
    spec = importlib.util.spec_from_file_location("bench_analogy", ROOT / "benchmarks" / "bench_analogy.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(queries=5)
    assert result["ours"] > 0 and result["peer"] > 0
    assert result["ratio"] == pytest.approx(result["ours"] / result["peer"], rel=0.02)
    assert result["queries"] == 5 and result["top1_agreement"] == 1.0
    assert bench.run(queries=[("king", "man", "woman")], quick=True)["queries"] == 1


def test_share_runs_every_part_once_and_raises_a_part_s_error():
    from portalit.geometry import _threads

    done = []
    _threads.share(done.append, range(40))
    assert sorted(done) == list(range(40))

    def fails_on_seven(part):
        if part == 7:
            raise ValueError("part 7")

    with pytest.raises(ValueError, match="part 7"):
        _threads.share(fails_on_seven, range(20))
