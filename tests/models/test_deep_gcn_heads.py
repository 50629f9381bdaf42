import pytest
import torch

from revgnn.models.deep_gcn_heads import (
    ClassificationHead,
    NodeHead,
    PartSegmentationHead,
    SegmentationHead,
)


def test_segmentation_head_concatenates_the_global_max_with_the_features():
    head = SegmentationHead(8, 3, emb_dims=16, dropout=0.0).eval()
    feats = torch.randn(2, 10, 8)
    pooled = head.fusion(feats).amax(1, keepdim=True).expand(-1, 10, -1)
    want = head.out(head.mlp(torch.cat([pooled, feats], -1)))
    torch.testing.assert_close(head(feats), want)
    assert head.mlp.channels == [24, 512, 256]


def test_part_head_uses_max_mean_and_the_fusion():
    head = PartSegmentationHead(8, 4, emb_dims=16).eval()
    assert head.mlp.channels == [48, 512, 256] and head.fusion[0].bias is None
    assert head(torch.randn(2, 10, 8)).shape == (2, 10, 4)


def test_classification_head_pools_per_cloud():
    head = ClassificationHead(8, 5, emb_dims=16).eval()
    feats = torch.randn(3, 10, 8)
    out = head(feats)
    assert out.shape == (3, 5)
    torch.testing.assert_close(head(feats[:, torch.randperm(10)]), out)  # order-invariant


def test_node_head_appends_the_channel_max_of_the_fusion():
    head = NodeHead(8, 6, emb_dims=16).eval()
    assert head.mlp[0].channels == [9, 512]
    assert head(torch.randn(7, 8)).shape == (7, 6)
    with pytest.raises(ValueError, match=r"node features \[nodes, channels\]"):
        head(torch.randn(1, 7, 8))
    with pytest.raises(ValueError, match=r"fused features \[batch, points, channels\]"):
        SegmentationHead(8, 3)(torch.randn(7, 8))
