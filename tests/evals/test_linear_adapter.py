import torch

from evals.linear_adapter import Labelled, adapted, top1_hits, train


def test_the_adapter_learns_pairs_that_plain_cosine_ranks_wrong():
    e = torch.eye(8)
    # Each OKR leans towards the wrong objective by cosine; the gold pairs are 0->1 and 2->3.
    okrs = torch.nn.functional.normalize(torch.stack([e[0] + 0.3 * e[3], e[2] + 0.3 * e[1]]), dim=1)
    objectives = torch.stack([e[1], e[3]])
    gold = torch.eye(2)
    org = Labelled("toy", "dev", okrs, objectives, gold)

    assert top1_hits(okrs @ objectives.T, gold).sum() == 0
    u, v = train([org], rank=4, steps=200)
    assert top1_hits(adapted(okrs, u, v) @ adapted(objectives, u, v).T, gold).sum() == 2
