# SPDX-License-Identifier: GPL-3.0-or-later
#
# An independent, plain-Python restatement of the moment retrieval and
# highlight metrics of Moment-DETR's standalone evaluation (no numpy), used to
# cross-check `vidmark eval` on random data.  Written from the published
# definitions: R1 takes the first predicted window against its best-matching
# ground-truth window; mAP is the VOC-2011 interpolated AP per query and
# threshold of the first 10 predictions ranked by score (stable), with each
# ground-truth window matched once; HIT@1 takes the first argmax clip.


def iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def interpolated_ap(precision, recall):
    mprec = [0.0] + list(precision) + [0.0]
    mrec = [0.0] + list(recall) + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    ap = 0.0
    for i in range(1, len(mrec)):
        if mrec[i] != mrec[i - 1]:
            ap += (mrec[i] - mrec[i - 1]) * mprec[i]
    return ap


def average_precision(gts, preds, thresholds):
    if not preds:
        return [0.0] * len(thresholds)
    preds = sorted(preds, key=lambda p: -p[2])
    aps = []
    for thd in thresholds:
        locked = [False] * len(gts)
        tp = fp = 0
        precision, recall = [], []
        for p in preds:
            ious = [iou(p, g) for g in gts]
            order = list(reversed(sorted(range(len(gts)), key=lambda j: ious[j])))
            hit = False
            for j in order:
                if ious[j] < thd:
                    break
                if locked[j]:
                    continue
                locked[j] = True
                hit = True
                break
            if hit:
                tp += 1
            else:
                fp += 1
            precision.append(tp / (tp + fp))
            recall.append(tp / len(gts))
        aps.append(interpolated_ap(precision, recall))
    return aps


def evaluate(ground_truth, predictions):
    """ground_truth: qid -> {"windows": [[s, e]], "duration": d,
    "clips": {clip: [scores per rater]}}; predictions: qid ->
    {"windows": [[s, e, score]], "saliency": [...]}."""
    thresholds = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    qids = [q for q in predictions if q in ground_truth and ground_truth[q]["windows"]
            and predictions[q]["windows"]]
    out = {}
    if qids:
        r1 = {0.3: 0, 0.5: 0, 0.7: 0}
        miou = 0.0
        ap_sum = [0.0] * len(thresholds)
        for q in qids:
            top = predictions[q]["windows"][0]
            best = max(iou(top, g) for g in ground_truth[q]["windows"])
            for t in r1:
                r1[t] += best >= t
            miou += best
            aps = average_precision(ground_truth[q]["windows"], predictions[q]["windows"][:10], thresholds)
            ap_sum = [a + b for a, b in zip(ap_sum, aps)]
        n = len(qids)
        out["R1@0.3"] = 100 * r1[0.3] / n
        out["R1@0.5"] = 100 * r1[0.5] / n
        out["R1@0.7"] = 100 * r1[0.7] / n
        out["mIoU"] = 100 * miou / n
        maps = [a / n for a in ap_sum]
        out["mAP"] = 100 * sum(maps) / len(maps)
        out["mAP@0.5"] = 100 * maps[0]
        out["mAP@0.75"] = 100 * maps[5]
    hits, n_hl = 0, 0
    for q, p in predictions.items():
        g = ground_truth.get(q)
        if not g or not g["windows"] or not g["clips"] or not p.get("saliency"):
            continue
        sal = p["saliency"]
        best = max(range(len(sal)), key=lambda i: (sal[i], -i))
        n_clips = max(int(g["duration"] / 2), max(g["clips"]) + 1)
        row = g["clips"].get(best) if best < n_clips else None
        hits += 1 if row and max(row) >= 4 else 0
        n_hl += 1
    if n_hl:
        out["HIT@1"] = 100 * hits / n_hl
    return out
