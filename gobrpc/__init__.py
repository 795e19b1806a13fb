"""gobrpc: Go's encoding/gob and net/rpc framing, sans-IO.

Bytes in, events out; values in, bytes out. No sockets, threads or clocks: the trio adapters live
in ``runtime``. ``$(go env GOROOT)/src/encoding/gob/doc.go`` is the specification implemented here;
behaviour is checked against real Go output kept in ``golden/``.
"""

from ._decoder import NEED_DATA as NEED_DATA
from ._decoder import DecodedValue as DecodedValue
from ._decoder import Decoder as Decoder
from ._decoder import NeedData as NeedData
from ._decoder import TypeDefinition as TypeDefinition
from ._dump import StreamDumper as StreamDumper
from ._dump import dump_messages as dump_messages
from ._encoder import Encoder as Encoder
from ._errors import GobDecodeError as GobDecodeError
from ._errors import GobEncodeError as GobEncodeError
from ._errors import GobRpcError as GobRpcError
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import MessageTooLargeError as MessageTooLargeError
from ._errors import ProtocolError as ProtocolError
from ._errors import RemoteCallError as RemoteCallError
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import UnexpectedEOFError as UnexpectedEOFError
from ._events import BadCall as BadCall
from ._events import Call as Call
from ._events import CallFailed as CallFailed
from ._events import ConnectionClosed as ConnectionClosed
from ._events import ErrorReply as ErrorReply
from ._events import Reply as Reply
from ._generated import add_generated_code as add_generated_code
from ._generated import recording_generated_code as recording_generated_code
from ._limits import DEFAULT_LIMITS as DEFAULT_LIMITS
from ._limits import MAX_ELEMENTS as MAX_ELEMENTS
from ._limits import MAX_MESSAGE_SIZE as MAX_MESSAGE_SIZE
from ._limits import MAX_NESTING as MAX_NESTING
from ._limits import MAX_TYPES_PER_STREAM as MAX_TYPES_PER_STREAM
from ._limits import MAX_VALUE_MESSAGES as MAX_VALUE_MESSAGES
from ._limits import Limits as Limits
from ._rpc import INVALID_REQUEST as INVALID_REQUEST
from ._rpc import REQUEST as REQUEST
from ._rpc import RESPONSE as RESPONSE
from ._rpc import ClientConnection as ClientConnection
from ._rpc import ConnectionState as ConnectionState
from ._rpc import ServerConnection as ServerConnection
from ._schema import gob_field as gob_field
from ._schema import struct_type as struct_type
from ._schema import structure as structure
from ._types import FIRST_USER_ID_GO_1_21 as FIRST_USER_ID_GO_1_21
from ._types import FIRST_USER_ID_LEGACY as FIRST_USER_ID_LEGACY
from ._types import ArrayType as ArrayType
from ._types import BasicType as BasicType
from ._types import Field as Field
from ._types import GoType as GoType
from ._types import InterfaceType as InterfaceType
from ._types import Kind as Kind
from ._types import MapType as MapType
from ._types import MarshalerType as MarshalerType
from ._types import MarshalMethod as MarshalMethod
from ._types import PointerType as PointerType
from ._types import SliceType as SliceType
from ._types import StructType as StructType
from ._types import TypeRegistry as TypeRegistry
from ._types import UnsentType as UnsentType
from ._types import WireArray as WireArray
from ._types import WireEmpty as WireEmpty
from ._types import WireField as WireField
from ._types import WireMap as WireMap
from ._types import WireMarshaler as WireMarshaler
from ._types import WireSlice as WireSlice
from ._types import WireStruct as WireStruct
from ._types import WireType as WireType
from ._values import GobInterface as GobInterface
from ._values import GobMarshaled as GobMarshaled
from ._values import GobStruct as GobStruct
from ._values import GobValue as GobValue

__all__ = [
    # codec
    "Decoder",
    "Encoder",
    "TypeRegistry",
    "DecodedValue",
    "TypeDefinition",
    "NEED_DATA",
    "NeedData",
    "FIRST_USER_ID_GO_1_21",
    "FIRST_USER_ID_LEGACY",
    "add_generated_code",
    "recording_generated_code",
    # Go types
    "GoType",
    "Kind",
    "BasicType",
    "InterfaceType",
    "UnsentType",
    "MarshalMethod",
    "MarshalerType",
    "PointerType",
    "SliceType",
    "ArrayType",
    "MapType",
    "Field",
    "StructType",
    # wire definitions
    "WireType",
    "WireArray",
    "WireEmpty",
    "WireField",
    "WireMap",
    "WireMarshaler",
    "WireSlice",
    "WireStruct",
    # values and schemas
    "GobValue",
    "GobStruct",
    "GobInterface",
    "GobMarshaled",
    "gob_field",
    "struct_type",
    "structure",
    # debugging captured traffic (python -m gobrpc dump)
    "dump_messages",
    "StreamDumper",
    # net/rpc
    "ServerConnection",
    "ClientConnection",
    "ConnectionState",
    "REQUEST",
    "RESPONSE",
    "INVALID_REQUEST",
    "Call",
    "BadCall",
    "Reply",
    "ErrorReply",
    "CallFailed",
    "ConnectionClosed",
    # limits
    "Limits",
    "DEFAULT_LIMITS",
    "MAX_MESSAGE_SIZE",
    "MAX_NESTING",
    "MAX_ELEMENTS",
    "MAX_TYPES_PER_STREAM",
    "MAX_VALUE_MESSAGES",
    # errors
    "GobRpcError",
    "ProtocolError",
    "RemoteProtocolError",
    "GobDecodeError",
    "MessageTooLargeError",
    "UnexpectedEOFError",
    "LocalProtocolError",
    "GobEncodeError",
    "RemoteCallError",
]
