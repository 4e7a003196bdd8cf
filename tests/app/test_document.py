"""The document keeps labels and instance ids in step: every edit writes both, undo restores both."""

import numpy as np
import pytest

from app.document import Document
from engine.labels import get_label_set

FACADES = get_label_set("facades")  # 1 background, 2 facade (stuff), 3 window (thing)


def box(h, w, y0, x0, y1, x1):
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_a_blank_or_opened_map_is_all_stuff():
    document = Document.blank(FACADES, 8, 12)
    assert document.instances.dtype == np.int32 and np.array_equal(document.instances, document.labels)
    labels = np.full((5, 6), 2, np.int32)
    labels[1:3, 1:3] = 3
    document.replace(FACADES, labels)
    assert np.array_equal(document.instances, labels)
    assert document.instances is not document.labels


def test_replace_takes_an_instance_map_of_the_same_size():
    labels = np.full((4, 4), 3, np.int32)
    instances = np.full((4, 4), 3000, np.int64)
    instances[:, 2:] = 3001
    document = Document.blank(FACADES, 8, 8)
    document.replace(FACADES, labels, instances)
    assert document.instances.dtype == np.int32 and np.array_equal(document.instances, instances)
    with pytest.raises(ValueError, match="instance map"):
        document.replace(FACADES, labels, instances[:3])


def test_one_undo_step_restores_both_planes_byte_for_byte_and_stores_only_the_changed_box():
    document = Document.blank(FACADES, 32, 40)
    first = document.begin_edit()
    first.paint(box(32, 40, 2, 3, 10, 12), 3, instance_id=3000)
    assert first.commit("Window")
    labels0, instances0 = document.labels.copy(), document.instances.copy()
    edit = document.begin_edit()
    edit.paint(box(32, 40, 5, 5, 9, 20), 3, instance_id=3001)  # over the first window and the wall
    edit.paint(box(32, 40, 20, 30, 22, 33), 2)  # stuff: instance = class id
    assert edit.commit("Stroke")
    assert document.undo_stack.count() == 2
    labels1, instances1 = document.labels.copy(), document.instances.copy()
    assert (instances1[5:9, 5:20] == 3001).all() and (instances1[20:22, 30:33] == 2).all()
    command = document.undo_stack.command(1)
    assert command.region == (5, 5, 22, 33)
    assert command.before.shape == command.before_instances.shape == (17, 28)
    assert command.after_instances.shape == (17, 28)
    document.undo_stack.undo()
    assert np.array_equal(document.labels, labels0) and np.array_equal(document.instances, instances0)
    document.undo_stack.redo()
    assert np.array_equal(document.labels, labels1) and np.array_equal(document.instances, instances1)


def test_an_edit_that_only_changes_instances_is_an_undo_step():
    document = Document.blank(FACADES, 10, 10)
    edit = document.begin_edit()
    edit.paint(box(10, 10, 0, 0, 10, 10), 3)
    edit.commit("Windows")
    labels = document.labels.copy()
    edit = document.begin_edit()
    edit.paint(box(10, 10, 2, 2, 4, 4), 3, instance_id=3000)
    assert edit.commit("Object")
    assert np.array_equal(document.labels, labels)
    assert document.undo_stack.command(1).region == (2, 2, 4, 4)
    document.undo_stack.undo()
    assert (document.instances == 3).all()


def test_new_instance_ids_follow_the_largest_then_reuse_free_ones():
    document = Document.blank(FACADES, 4, 4)
    assert document.new_instance_id(3) == 3000
    document.instances[0, 0] = 3000
    document.instances[0, 1] = 3004
    assert document.new_instance_id(3) == 3005
    assert document.new_instance_id(4) == 4000  # every class counts its own objects
    document.instances[0, 2] = 3999
    assert document.new_instance_id(3) == 3001  # past k = 999: the smallest free k


def test_new_instance_ids_of_class_zero_never_equal_a_class_id():
    coco = get_label_set("coco")  # person (0) is a thing: its objects must not read as stuff ids
    document = Document.blank(coco, 4, 4)
    first = document.new_instance_id(0)
    assert first not in coco and 0 < first < 1000


def test_no_new_id_when_a_class_has_1000_objects():
    document = Document(FACADES, np.full((40, 25), 3, np.int32), np.arange(3000, 4000).reshape(40, 25))
    assert document.new_instance_id(3) is None


def test_instance_class_reads_the_label_under_an_object():
    document = Document.blank(FACADES, 6, 6)
    edit = document.begin_edit()
    edit.paint(box(6, 6, 1, 1, 3, 3), 4, instance_id=4002)
    edit.commit("Door")
    assert document.instance_class(4002) == 4
    assert document.instance_class(1) == 1
    assert document.instance_class(4003) is None
