import torch

from engine.models.semantics import SemanticMap, instance_edges


def test_instance_edges_marks_both_pixels_of_every_differing_4_neighbour_pair():
    ids = torch.tensor(
        [
            [1, 1, 1, 1],
            [1, 2, 2, 1],
            [1, 1, 1, 1],
            [3, 3, 3, 3],
        ]
    )
    expected = torch.tensor(
        [
            [0, 1, 1, 0],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(instance_edges(ids[None])[0, 0], expected)


def test_instance_edges_ignore_diagonal_neighbours():
    ids = torch.tensor([[1, 0], [0, 1]])
    corner = torch.tensor([[5, 5, 5], [5, 5, 5], [5, 5, 7]])
    assert instance_edges(ids[None]).sum() == 4
    assert torch.equal(
        instance_edges(corner[None])[0, 0],
        torch.tensor([[0, 0, 0], [0, 0, 1], [0, 1, 1]], dtype=torch.float32),
    )


def test_resized_map_equals_resizing_the_one_hot_tensor():
    torch.manual_seed(0)
    labels = torch.randint(0, 5, (1, 37, 53))
    edges = instance_edges(torch.randint(0, 3, (1, 37, 53))).float()
    semantics = SemanticMap(labels, 5, edges)
    small = semantics.at((8, 12))
    expected = torch.nn.functional.interpolate(semantics.one_hot(), size=(8, 12), mode="nearest")
    assert torch.equal(small.one_hot(), expected)
    assert semantics.at((8, 12)) is small
