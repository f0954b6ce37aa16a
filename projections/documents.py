"""The order document of every read-model row, dumped by a function compiled from its schema.

marshmallow's ``dump`` walks each value through several generic layers (accessor, ``serialize``,
hooks); for a whole order that was the largest single cost of a rebuild. ``compile_dump`` reads
a schema once and returns a function doing only what that schema needs: plain reads of the same
attributes and keys, the fields' own ``_serialize`` for leaves, nested schemas compiled alike.
What it does not model (post-dump hooks, hooks on collections or with the original data, a
custom accessor, a field with its own ``serialize``) is left to marshmallow, so the schema in
``ordering.representation.order`` stays the one place the shape is written, and the result is
the same document (``tests/integration/test_order_document_dump.py`` holds them side by side).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing, utils
from marshmallow.decorators import POST_DUMP, PRE_DUMP

from ordering.representation.order import ORDER_DOCUMENT

Dump = Callable[[Any], Any]
Convert = Callable[[Any, Any], Any]  # (value, the object it was read from) -> wire value


def compile_dump(schema: Schema) -> Dump:
    """A function dumping one object exactly as ``schema.dump`` does."""
    if schema.many or not _compilable(schema):
        return schema.dump
    return _compiled(schema)


def _compiled(schema: Schema) -> Dump:
    """One object (whatever ``schema.many`` says: ``Nested`` sets it on the schema it holds)."""
    hooks = [getattr(schema, name) for name, _many, _kwargs in schema._hooks[PRE_DUMP]]
    steps = [_step(schema, name, field) for name, field in schema.dump_fields.items()]
    dict_class = schema.dict_class

    def dump(obj: Any) -> Any:
        for hook in hooks:
            obj = hook(obj, many=False)
        read = _reader_of(obj)
        document: dict[str, Any] = dict_class()
        for key, attribute, convert in steps:
            if attribute is None:
                value = convert(obj, obj)
            else:
                value = read(obj, attribute)
                if value is not missing:
                    value = convert(value, obj)
            if value is not missing:
                document[key] = value
        return document

    return dump


def _compilable(schema: Schema) -> bool:
    pre_dump = schema._hooks[PRE_DUMP]
    return (not schema._hooks[POST_DUMP]
            and type(schema).get_attribute is Schema.get_attribute
            and all(not many and not kwargs.get("pass_original") for _, many, kwargs in pre_dump))


Step = tuple[str, str | None, Convert]  # key, attribute read (None: the field reads it), convert


def _step(schema: Schema, name: str, field: fields.Field[Any]) -> Step:
    key = field.data_key if field.data_key is not None else name
    if type(field).serialize is not fields.Field.serialize or not field._CHECK_ATTRIBUTE \
            or field.dump_default is not missing:
        def serialized(obj: Any, _: Any) -> Any:
            return field.serialize(name, obj, accessor=schema.get_attribute)
        return key, None, serialized
    return key, field.attribute or name, _converter(name, field)


def _reader_of(obj: Any) -> Callable[[Any, str], Any]:
    """``marshmallow.utils.get_value``: an item when the object has items, else an attribute."""
    if type(obj) is dict:
        return _read_item
    return _read_any if hasattr(obj, "__getitem__") else _read_attribute


def _read_item(obj: dict[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    return getattr(obj, key, missing) if "." not in key else utils.get_value(obj, key, missing)


def _read_attribute(obj: Any, key: str) -> Any:
    return getattr(obj, key, missing) if "." not in key else utils.get_value(obj, key, missing)


def _read_any(obj: Any, key: str) -> Any:
    return utils.get_value(obj, key, missing)


def _converter(name: str, field: fields.Field[Any]) -> Convert:
    """What the field's ``_serialize`` makes of a value, with the common cases inlined."""
    if type(field) is fields.Nested:
        return _nested(field)
    if type(field) is fields.List:
        inner = _converter(name, field.inner)
        return lambda value, obj: None if value is None else [inner(each, obj) for each in value]
    if type(field) is fields.String:
        return lambda value, obj: value if value is None or type(value) is str \
            else utils.ensure_text_type(value)
    if type(field) is fields.Integer and not field.as_string:
        return lambda value, obj: value if value is None or type(value) is int else int(value)
    serialize = field._serialize
    return lambda value, obj: serialize(value, name, obj)


def _nested(field: fields.Nested) -> Convert:
    schema = field.schema
    many = bool(schema.many or field.many)
    if not _compilable(schema):
        return lambda value, obj: None if value is None else schema.dump(value, many=many)
    dump = _compiled(schema)
    if many:
        return lambda value, obj: None if value is None else [dump(each) for each in value]
    return lambda value, obj: None if value is None else dump(value)


fast_order_document: Dump = compile_dump(ORDER_DOCUMENT)
