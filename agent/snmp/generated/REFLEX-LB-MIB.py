if 'mibBuilder' not in globals():
    import sys

    sys.stderr.write(__doc__)
    sys.exit(1)

# Import base ASN.1 objects even if this MIB does not use it

(Integer,
 OctetString,
 ObjectIdentifier) = mibBuilder.importSymbols(
    "ASN1",
    "Integer",
    "OctetString",
    "ObjectIdentifier")

(NamedValues,) = mibBuilder.importSymbols(
    "ASN1-ENUMERATION",
    "NamedValues")
(ConstraintsIntersection,
 ConstraintsUnion,
 SingleValueConstraint,
 ValueRangeConstraint,
 ValueSizeConstraint) = mibBuilder.importSymbols(
    "ASN1-REFINEMENT",
    "ConstraintsIntersection",
    "ConstraintsUnion",
    "SingleValueConstraint",
    "ValueRangeConstraint",
    "ValueSizeConstraint")

# Import SMI symbols from the MIBs this MIB depends on

(InetAddress,
 InetAddressType,
 InetPortNumber) = mibBuilder.importSymbols(
    "INET-ADDRESS-MIB",
    "InetAddress",
    "InetAddressType",
    "InetPortNumber")

(netSnmpExperimental,) = mibBuilder.importSymbols(
    "NET-SNMP-MIB",
    "netSnmpExperimental")

(SnmpAdminString,) = mibBuilder.importSymbols(
    "SNMP-FRAMEWORK-MIB",
    "SnmpAdminString")

(ModuleCompliance,
 NotificationGroup,
 ObjectGroup) = mibBuilder.importSymbols(
    "SNMPv2-CONF",
    "ModuleCompliance",
    "NotificationGroup",
    "ObjectGroup")

(Bits,
 Counter32,
 Counter64,
 Gauge32,
 Integer32,
 IpAddress,
 ModuleIdentity,
 MibIdentifier,
 NotificationType,
 ObjectIdentity,
 MibScalar,
 MibTable,
 MibTableRow,
 MibTableColumn,
 TimeTicks,
 Unsigned32,
 iso) = mibBuilder.importSymbols(
    "SNMPv2-SMI",
    "Bits",
    "Counter32",
    "Counter64",
    "Gauge32",
    "Integer32",
    "IpAddress",
    "ModuleIdentity",
    "MibIdentifier",
    "NotificationType",
    "ObjectIdentity",
    "MibScalar",
    "MibTable",
    "MibTableRow",
    "MibTableColumn",
    "TimeTicks",
    "Unsigned32",
    "iso")

(DateAndTime,
 DisplayString,
 PhysAddress,
 TextualConvention,
 TruthValue) = mibBuilder.importSymbols(
    "SNMPv2-TC",
    "DateAndTime",
    "DisplayString",
    "PhysAddress",
    "TextualConvention",
    "TruthValue")


# MODULE-IDENTITY

reflexLbMIB = ModuleIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999)
)
if mibBuilder.loadTexts:
    reflexLbMIB.setRevisions(
        ("2026-12-01 00:00",)
    )


# Types definitions


# TEXTUAL-CONVENTIONS



class ReflexObjectName(TextualConvention, OctetString):
    status = "current"
    displayHint = "32a"
    subtypeSpec = OctetString.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(1, 32),
    )



class ReflexMemberStatus(TextualConvention, Integer32):
    status = "current"
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        SingleValueConstraint(
            *(1,
              2,
              3)
        )
    )
    namedValues = NamedValues(
        *(("up", 1),
          ("down", 2),
          ("unknown", 3))
    )



class ReflexCarpGroupState(TextualConvention, Integer32):
    status = "current"
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        SingleValueConstraint(
            *(1,
              2,
              3)
        )
    )
    namedValues = NamedValues(
        *(("init", 1),
          ("backup", 2),
          ("master", 3))
    )



# MIB Managed Objects in the order of their OIDs

_ReflexLbNotifications_ObjectIdentity = ObjectIdentity
reflexLbNotifications = _ReflexLbNotifications_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0)
)
_ReflexLbObjects_ObjectIdentity = ObjectIdentity
reflexLbObjects = _ReflexLbObjects_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1)
)
_ReflexGeneral_ObjectIdentity = ObjectIdentity
reflexGeneral = _ReflexGeneral_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1)
)
_ReflexAgentVersion_Type = SnmpAdminString
_ReflexAgentVersion_Object = MibScalar
reflexAgentVersion = _ReflexAgentVersion_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 1),
    _ReflexAgentVersion_Type()
)
reflexAgentVersion.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexAgentVersion.setStatus("current")
_ReflexAgentUptime_Type = TimeTicks
_ReflexAgentUptime_Object = MibScalar
reflexAgentUptime = _ReflexAgentUptime_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 2),
    _ReflexAgentUptime_Type()
)
reflexAgentUptime.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexAgentUptime.setStatus("current")
_ReflexLastCommitId_Type = Unsigned32
_ReflexLastCommitId_Object = MibScalar
reflexLastCommitId = _ReflexLastCommitId_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 3),
    _ReflexLastCommitId_Type()
)
reflexLastCommitId.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexLastCommitId.setStatus("current")
_ReflexLastCommitTime_Type = DateAndTime
_ReflexLastCommitTime_Object = MibScalar
reflexLastCommitTime = _ReflexLastCommitTime_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 4),
    _ReflexLastCommitTime_Type()
)
reflexLastCommitTime.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexLastCommitTime.setStatus("current")
_ReflexLastCommitUser_Type = SnmpAdminString
_ReflexLastCommitUser_Object = MibScalar
reflexLastCommitUser = _ReflexLastCommitUser_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 5),
    _ReflexLastCommitUser_Type()
)
reflexLastCommitUser.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexLastCommitUser.setStatus("current")
_ReflexLastCommitComment_Type = SnmpAdminString
_ReflexLastCommitComment_Object = MibScalar
reflexLastCommitComment = _ReflexLastCommitComment_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 6),
    _ReflexLastCommitComment_Type()
)
reflexLastCommitComment.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexLastCommitComment.setStatus("current")
_ReflexServiceCount_Type = Gauge32
_ReflexServiceCount_Object = MibScalar
reflexServiceCount = _ReflexServiceCount_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 7),
    _ReflexServiceCount_Type()
)
reflexServiceCount.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceCount.setStatus("current")
_ReflexPoolCount_Type = Gauge32
_ReflexPoolCount_Object = MibScalar
reflexPoolCount = _ReflexPoolCount_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 8),
    _ReflexPoolCount_Type()
)
reflexPoolCount.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolCount.setStatus("current")
_ReflexMemberCount_Type = Gauge32
_ReflexMemberCount_Object = MibScalar
reflexMemberCount = _ReflexMemberCount_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 9),
    _ReflexMemberCount_Type()
)
reflexMemberCount.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberCount.setStatus("current")
_ReflexMembersUp_Type = Gauge32
_ReflexMembersUp_Object = MibScalar
reflexMembersUp = _ReflexMembersUp_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 1, 10),
    _ReflexMembersUp_Type()
)
reflexMembersUp.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMembersUp.setStatus("current")
_ReflexServiceTable_Object = MibTable
reflexServiceTable = _ReflexServiceTable_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2)
)
if mibBuilder.loadTexts:
    reflexServiceTable.setStatus("current")
_ReflexServiceEntry_Object = MibTableRow
reflexServiceEntry = _ReflexServiceEntry_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1)
)
reflexServiceEntry.setIndexNames(
    (0, "REFLEX-LB-MIB", "reflexServiceName"),
)
if mibBuilder.loadTexts:
    reflexServiceEntry.setStatus("current")
_ReflexServiceName_Type = ReflexObjectName
_ReflexServiceName_Object = MibTableColumn
reflexServiceName = _ReflexServiceName_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 1),
    _ReflexServiceName_Type()
)
reflexServiceName.setMaxAccess("not-accessible")
if mibBuilder.loadTexts:
    reflexServiceName.setStatus("current")
_ReflexServiceAddressType_Type = InetAddressType
_ReflexServiceAddressType_Object = MibTableColumn
reflexServiceAddressType = _ReflexServiceAddressType_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 2),
    _ReflexServiceAddressType_Type()
)
reflexServiceAddressType.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceAddressType.setStatus("current")
_ReflexServiceAddress_Type = InetAddress
_ReflexServiceAddress_Object = MibTableColumn
reflexServiceAddress = _ReflexServiceAddress_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 3),
    _ReflexServiceAddress_Type()
)
reflexServiceAddress.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceAddress.setStatus("current")


class _ReflexServiceProtocol_Type(Integer32):
    """Custom type reflexServiceProtocol based on Integer32"""
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        SingleValueConstraint(
            *(6,
              17)
        )
    )
    namedValues = NamedValues(
        *(("tcp", 6),
          ("udp", 17))
    )


_ReflexServiceProtocol_Type.__name__ = "Integer32"
_ReflexServiceProtocol_Object = MibTableColumn
reflexServiceProtocol = _ReflexServiceProtocol_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 4),
    _ReflexServiceProtocol_Type()
)
reflexServiceProtocol.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceProtocol.setStatus("current")
_ReflexServicePort_Type = InetPortNumber
_ReflexServicePort_Object = MibTableColumn
reflexServicePort = _ReflexServicePort_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 5),
    _ReflexServicePort_Type()
)
reflexServicePort.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServicePort.setStatus("current")
_ReflexServiceSticky_Type = TruthValue
_ReflexServiceSticky_Object = MibTableColumn
reflexServiceSticky = _ReflexServiceSticky_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 6),
    _ReflexServiceSticky_Type()
)
reflexServiceSticky.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceSticky.setStatus("current")
_ReflexServiceReflect_Type = TruthValue
_ReflexServiceReflect_Object = MibTableColumn
reflexServiceReflect = _ReflexServiceReflect_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 7),
    _ReflexServiceReflect_Type()
)
reflexServiceReflect.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceReflect.setStatus("current")


class _ReflexServiceAlgorithm_Type(Integer32):
    """Custom type reflexServiceAlgorithm based on Integer32"""
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        SingleValueConstraint(
            *(1,
              2,
              3,
              4,
              5)
        )
    )
    namedValues = NamedValues(
        *(("roundRobin", 1),
          ("random", 2),
          ("sourceHash", 3),
          ("weightedRoundRobin", 4),
          ("weightedRandom", 5))
    )


_ReflexServiceAlgorithm_Type.__name__ = "Integer32"
_ReflexServiceAlgorithm_Object = MibTableColumn
reflexServiceAlgorithm = _ReflexServiceAlgorithm_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 8),
    _ReflexServiceAlgorithm_Type()
)
reflexServiceAlgorithm.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceAlgorithm.setStatus("current")


class _ReflexServicePool_Type(SnmpAdminString):
    """Custom type reflexServicePool based on SnmpAdminString"""
    subtypeSpec = SnmpAdminString.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(0, 32),
    )


_ReflexServicePool_Type.__name__ = "SnmpAdminString"
_ReflexServicePool_Object = MibTableColumn
reflexServicePool = _ReflexServicePool_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 9),
    _ReflexServicePool_Type()
)
reflexServicePool.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServicePool.setStatus("current")
_ReflexServicePackets_Type = Counter64
_ReflexServicePackets_Object = MibTableColumn
reflexServicePackets = _ReflexServicePackets_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 10),
    _ReflexServicePackets_Type()
)
reflexServicePackets.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServicePackets.setStatus("current")
_ReflexServiceBytes_Type = Counter64
_ReflexServiceBytes_Object = MibTableColumn
reflexServiceBytes = _ReflexServiceBytes_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 11),
    _ReflexServiceBytes_Type()
)
reflexServiceBytes.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceBytes.setStatus("current")
if mibBuilder.loadTexts:
    reflexServiceBytes.setUnits("bytes")
_ReflexServiceConnections_Type = Counter64
_ReflexServiceConnections_Object = MibTableColumn
reflexServiceConnections = _ReflexServiceConnections_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 12),
    _ReflexServiceConnections_Type()
)
reflexServiceConnections.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceConnections.setStatus("current")
_ReflexServiceStates_Type = Gauge32
_ReflexServiceStates_Object = MibTableColumn
reflexServiceStates = _ReflexServiceStates_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 2, 1, 13),
    _ReflexServiceStates_Type()
)
reflexServiceStates.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexServiceStates.setStatus("current")
_ReflexPoolTable_Object = MibTable
reflexPoolTable = _ReflexPoolTable_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3)
)
if mibBuilder.loadTexts:
    reflexPoolTable.setStatus("current")
_ReflexPoolEntry_Object = MibTableRow
reflexPoolEntry = _ReflexPoolEntry_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1)
)
reflexPoolEntry.setIndexNames(
    (0, "REFLEX-LB-MIB", "reflexPoolName"),
)
if mibBuilder.loadTexts:
    reflexPoolEntry.setStatus("current")
_ReflexPoolName_Type = ReflexObjectName
_ReflexPoolName_Object = MibTableColumn
reflexPoolName = _ReflexPoolName_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 1),
    _ReflexPoolName_Type()
)
reflexPoolName.setMaxAccess("not-accessible")
if mibBuilder.loadTexts:
    reflexPoolName.setStatus("current")


class _ReflexPoolService_Type(SnmpAdminString):
    """Custom type reflexPoolService based on SnmpAdminString"""
    subtypeSpec = SnmpAdminString.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(1, 32),
    )


_ReflexPoolService_Type.__name__ = "SnmpAdminString"
_ReflexPoolService_Object = MibTableColumn
reflexPoolService = _ReflexPoolService_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 2),
    _ReflexPoolService_Type()
)
reflexPoolService.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolService.setStatus("current")
_ReflexPoolMemberCount_Type = Gauge32
_ReflexPoolMemberCount_Object = MibTableColumn
reflexPoolMemberCount = _ReflexPoolMemberCount_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 3),
    _ReflexPoolMemberCount_Type()
)
reflexPoolMemberCount.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolMemberCount.setStatus("current")
_ReflexPoolMembersUp_Type = Gauge32
_ReflexPoolMembersUp_Object = MibTableColumn
reflexPoolMembersUp = _ReflexPoolMembersUp_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 4),
    _ReflexPoolMembersUp_Type()
)
reflexPoolMembersUp.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolMembersUp.setStatus("current")
_ReflexPoolEmpty_Type = TruthValue
_ReflexPoolEmpty_Object = MibTableColumn
reflexPoolEmpty = _ReflexPoolEmpty_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 5),
    _ReflexPoolEmpty_Type()
)
reflexPoolEmpty.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolEmpty.setStatus("current")
_ReflexPoolLastChange_Type = DateAndTime
_ReflexPoolLastChange_Object = MibTableColumn
reflexPoolLastChange = _ReflexPoolLastChange_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 3, 1, 6),
    _ReflexPoolLastChange_Type()
)
reflexPoolLastChange.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexPoolLastChange.setStatus("current")
_ReflexMemberTable_Object = MibTable
reflexMemberTable = _ReflexMemberTable_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4)
)
if mibBuilder.loadTexts:
    reflexMemberTable.setStatus("current")
_ReflexMemberEntry_Object = MibTableRow
reflexMemberEntry = _ReflexMemberEntry_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1)
)
reflexMemberEntry.setIndexNames(
    (0, "REFLEX-LB-MIB", "reflexPoolName"),
    (0, "REFLEX-LB-MIB", "reflexMemberAddressType"),
    (0, "REFLEX-LB-MIB", "reflexMemberAddress"),
)
if mibBuilder.loadTexts:
    reflexMemberEntry.setStatus("current")
_ReflexMemberAddressType_Type = InetAddressType
_ReflexMemberAddressType_Object = MibTableColumn
reflexMemberAddressType = _ReflexMemberAddressType_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 1),
    _ReflexMemberAddressType_Type()
)
reflexMemberAddressType.setMaxAccess("not-accessible")
if mibBuilder.loadTexts:
    reflexMemberAddressType.setStatus("current")


class _ReflexMemberAddress_Type(InetAddress):
    """Custom type reflexMemberAddress based on InetAddress"""
    subtypeSpec = InetAddress.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(4, 4),
        ValueSizeConstraint(16, 16),
    )


_ReflexMemberAddress_Type.__name__ = "InetAddress"
_ReflexMemberAddress_Object = MibTableColumn
reflexMemberAddress = _ReflexMemberAddress_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 2),
    _ReflexMemberAddress_Type()
)
reflexMemberAddress.setMaxAccess("not-accessible")
if mibBuilder.loadTexts:
    reflexMemberAddress.setStatus("current")
_ReflexMemberPort_Type = InetPortNumber
_ReflexMemberPort_Object = MibTableColumn
reflexMemberPort = _ReflexMemberPort_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 3),
    _ReflexMemberPort_Type()
)
reflexMemberPort.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberPort.setStatus("current")


class _ReflexMemberWeight_Type(Unsigned32):
    """Custom type reflexMemberWeight based on Unsigned32"""
    subtypeSpec = Unsigned32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueRangeConstraint(1, 1000),
    )


_ReflexMemberWeight_Type.__name__ = "Unsigned32"
_ReflexMemberWeight_Object = MibTableColumn
reflexMemberWeight = _ReflexMemberWeight_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 4),
    _ReflexMemberWeight_Type()
)
reflexMemberWeight.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberWeight.setStatus("current")


class _ReflexMemberAdminState_Type(Integer32):
    """Custom type reflexMemberAdminState based on Integer32"""
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        SingleValueConstraint(
            *(1,
              2,
              3)
        )
    )
    namedValues = NamedValues(
        *(("enabled", 1),
          ("disabled", 2),
          ("drain", 3))
    )


_ReflexMemberAdminState_Type.__name__ = "Integer32"
_ReflexMemberAdminState_Object = MibTableColumn
reflexMemberAdminState = _ReflexMemberAdminState_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 5),
    _ReflexMemberAdminState_Type()
)
reflexMemberAdminState.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberAdminState.setStatus("current")
_ReflexMemberOperStatus_Type = ReflexMemberStatus
_ReflexMemberOperStatus_Object = MibTableColumn
reflexMemberOperStatus = _ReflexMemberOperStatus_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 6),
    _ReflexMemberOperStatus_Type()
)
reflexMemberOperStatus.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberOperStatus.setStatus("current")
_ReflexMemberLastChange_Type = DateAndTime
_ReflexMemberLastChange_Object = MibTableColumn
reflexMemberLastChange = _ReflexMemberLastChange_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 7),
    _ReflexMemberLastChange_Type()
)
reflexMemberLastChange.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberLastChange.setStatus("current")
_ReflexMemberLastCheck_Type = DateAndTime
_ReflexMemberLastCheck_Object = MibTableColumn
reflexMemberLastCheck = _ReflexMemberLastCheck_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 8),
    _ReflexMemberLastCheck_Type()
)
reflexMemberLastCheck.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberLastCheck.setStatus("current")
_ReflexMemberLastResult_Type = SnmpAdminString
_ReflexMemberLastResult_Object = MibTableColumn
reflexMemberLastResult = _ReflexMemberLastResult_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 9),
    _ReflexMemberLastResult_Type()
)
reflexMemberLastResult.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberLastResult.setStatus("current")
_ReflexMemberError_Type = SnmpAdminString
_ReflexMemberError_Object = MibTableColumn
reflexMemberError = _ReflexMemberError_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 10),
    _ReflexMemberError_Type()
)
reflexMemberError.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberError.setStatus("current")
_ReflexMemberChecks_Type = Counter64
_ReflexMemberChecks_Object = MibTableColumn
reflexMemberChecks = _ReflexMemberChecks_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 11),
    _ReflexMemberChecks_Type()
)
reflexMemberChecks.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberChecks.setStatus("current")
_ReflexMemberFailures_Type = Counter64
_ReflexMemberFailures_Object = MibTableColumn
reflexMemberFailures = _ReflexMemberFailures_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 12),
    _ReflexMemberFailures_Type()
)
reflexMemberFailures.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberFailures.setStatus("current")
_ReflexMemberTransitions_Type = Counter32
_ReflexMemberTransitions_Object = MibTableColumn
reflexMemberTransitions = _ReflexMemberTransitions_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 4, 1, 13),
    _ReflexMemberTransitions_Type()
)
reflexMemberTransitions.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexMemberTransitions.setStatus("current")
_ReflexCarpTable_Object = MibTable
reflexCarpTable = _ReflexCarpTable_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5)
)
if mibBuilder.loadTexts:
    reflexCarpTable.setStatus("current")
_ReflexCarpEntry_Object = MibTableRow
reflexCarpEntry = _ReflexCarpEntry_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1)
)
reflexCarpEntry.setIndexNames(
    (0, "REFLEX-LB-MIB", "reflexCarpVhid"),
)
if mibBuilder.loadTexts:
    reflexCarpEntry.setStatus("current")


class _ReflexCarpVhid_Type(Integer32):
    """Custom type reflexCarpVhid based on Integer32"""
    subtypeSpec = Integer32.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueRangeConstraint(1, 255),
    )


_ReflexCarpVhid_Type.__name__ = "Integer32"
_ReflexCarpVhid_Object = MibTableColumn
reflexCarpVhid = _ReflexCarpVhid_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1, 1),
    _ReflexCarpVhid_Type()
)
reflexCarpVhid.setMaxAccess("not-accessible")
if mibBuilder.loadTexts:
    reflexCarpVhid.setStatus("current")


class _ReflexCarpName_Type(SnmpAdminString):
    """Custom type reflexCarpName based on SnmpAdminString"""
    subtypeSpec = SnmpAdminString.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(1, 32),
    )


_ReflexCarpName_Type.__name__ = "SnmpAdminString"
_ReflexCarpName_Object = MibTableColumn
reflexCarpName = _ReflexCarpName_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1, 2),
    _ReflexCarpName_Type()
)
reflexCarpName.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexCarpName.setStatus("current")


class _ReflexCarpInterface_Type(SnmpAdminString):
    """Custom type reflexCarpInterface based on SnmpAdminString"""
    subtypeSpec = SnmpAdminString.subtypeSpec
    subtypeSpec += ConstraintsUnion(
        ValueSizeConstraint(1, 15),
    )


_ReflexCarpInterface_Type.__name__ = "SnmpAdminString"
_ReflexCarpInterface_Object = MibTableColumn
reflexCarpInterface = _ReflexCarpInterface_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1, 3),
    _ReflexCarpInterface_Type()
)
reflexCarpInterface.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexCarpInterface.setStatus("current")
_ReflexCarpState_Type = ReflexCarpGroupState
_ReflexCarpState_Object = MibTableColumn
reflexCarpState = _ReflexCarpState_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1, 4),
    _ReflexCarpState_Type()
)
reflexCarpState.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexCarpState.setStatus("current")
_ReflexCarpLastChange_Type = DateAndTime
_ReflexCarpLastChange_Object = MibTableColumn
reflexCarpLastChange = _ReflexCarpLastChange_Object(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1, 5, 1, 5),
    _ReflexCarpLastChange_Type()
)
reflexCarpLastChange.setMaxAccess("read-only")
if mibBuilder.loadTexts:
    reflexCarpLastChange.setStatus("current")
_ReflexLbConformance_ObjectIdentity = ObjectIdentity
reflexLbConformance = _ReflexLbConformance_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2)
)
_ReflexLbCompliances_ObjectIdentity = ObjectIdentity
reflexLbCompliances = _ReflexLbCompliances_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 1)
)
_ReflexLbGroups_ObjectIdentity = ObjectIdentity
reflexLbGroups = _ReflexLbGroups_ObjectIdentity(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2)
)

# Managed Objects groups

reflexGeneralGroup = ObjectGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 1)
)
reflexGeneralGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexAgentVersion"),
        ("REFLEX-LB-MIB", "reflexAgentUptime"),
        ("REFLEX-LB-MIB", "reflexLastCommitId"),
        ("REFLEX-LB-MIB", "reflexLastCommitTime"),
        ("REFLEX-LB-MIB", "reflexLastCommitUser"),
        ("REFLEX-LB-MIB", "reflexLastCommitComment"),
        ("REFLEX-LB-MIB", "reflexServiceCount"),
        ("REFLEX-LB-MIB", "reflexPoolCount"),
        ("REFLEX-LB-MIB", "reflexMemberCount"),
        ("REFLEX-LB-MIB", "reflexMembersUp"))
)
if mibBuilder.loadTexts:
    reflexGeneralGroup.setStatus("current")

reflexServiceGroup = ObjectGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 2)
)
reflexServiceGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexServiceAddressType"),
        ("REFLEX-LB-MIB", "reflexServiceAddress"),
        ("REFLEX-LB-MIB", "reflexServiceProtocol"),
        ("REFLEX-LB-MIB", "reflexServicePort"),
        ("REFLEX-LB-MIB", "reflexServiceSticky"),
        ("REFLEX-LB-MIB", "reflexServiceReflect"),
        ("REFLEX-LB-MIB", "reflexServiceAlgorithm"),
        ("REFLEX-LB-MIB", "reflexServicePool"),
        ("REFLEX-LB-MIB", "reflexServicePackets"),
        ("REFLEX-LB-MIB", "reflexServiceBytes"),
        ("REFLEX-LB-MIB", "reflexServiceConnections"),
        ("REFLEX-LB-MIB", "reflexServiceStates"))
)
if mibBuilder.loadTexts:
    reflexServiceGroup.setStatus("current")

reflexPoolGroup = ObjectGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 3)
)
reflexPoolGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexPoolService"),
        ("REFLEX-LB-MIB", "reflexPoolMemberCount"),
        ("REFLEX-LB-MIB", "reflexPoolMembersUp"),
        ("REFLEX-LB-MIB", "reflexPoolEmpty"),
        ("REFLEX-LB-MIB", "reflexPoolLastChange"))
)
if mibBuilder.loadTexts:
    reflexPoolGroup.setStatus("current")

reflexMemberGroup = ObjectGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 4)
)
reflexMemberGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexMemberPort"),
        ("REFLEX-LB-MIB", "reflexMemberWeight"),
        ("REFLEX-LB-MIB", "reflexMemberAdminState"),
        ("REFLEX-LB-MIB", "reflexMemberOperStatus"),
        ("REFLEX-LB-MIB", "reflexMemberLastChange"),
        ("REFLEX-LB-MIB", "reflexMemberLastCheck"),
        ("REFLEX-LB-MIB", "reflexMemberLastResult"),
        ("REFLEX-LB-MIB", "reflexMemberError"),
        ("REFLEX-LB-MIB", "reflexMemberChecks"),
        ("REFLEX-LB-MIB", "reflexMemberFailures"),
        ("REFLEX-LB-MIB", "reflexMemberTransitions"))
)
if mibBuilder.loadTexts:
    reflexMemberGroup.setStatus("current")

reflexCarpGroup = ObjectGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 5)
)
reflexCarpGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexCarpName"),
        ("REFLEX-LB-MIB", "reflexCarpInterface"),
        ("REFLEX-LB-MIB", "reflexCarpState"),
        ("REFLEX-LB-MIB", "reflexCarpLastChange"))
)
if mibBuilder.loadTexts:
    reflexCarpGroup.setStatus("current")


# Notification objects

reflexMemberDown = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 1)
)
reflexMemberDown.setObjects(
      *(("REFLEX-LB-MIB", "reflexPoolService"),
        ("REFLEX-LB-MIB", "reflexMemberPort"),
        ("REFLEX-LB-MIB", "reflexMemberOperStatus"),
        ("REFLEX-LB-MIB", "reflexMemberError"),
        ("REFLEX-LB-MIB", "reflexPoolMembersUp"))
)
if mibBuilder.loadTexts:
    reflexMemberDown.setStatus(
        "current"
    )

reflexMemberUp = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 2)
)
reflexMemberUp.setObjects(
      *(("REFLEX-LB-MIB", "reflexPoolService"),
        ("REFLEX-LB-MIB", "reflexMemberPort"),
        ("REFLEX-LB-MIB", "reflexMemberOperStatus"),
        ("REFLEX-LB-MIB", "reflexPoolMembersUp"))
)
if mibBuilder.loadTexts:
    reflexMemberUp.setStatus(
        "current"
    )

reflexPoolEmptyNotification = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 3)
)
reflexPoolEmptyNotification.setObjects(
      *(("REFLEX-LB-MIB", "reflexPoolService"),
        ("REFLEX-LB-MIB", "reflexPoolMemberCount"),
        ("REFLEX-LB-MIB", "reflexPoolMembersUp"))
)
if mibBuilder.loadTexts:
    reflexPoolEmptyNotification.setStatus(
        "current"
    )

reflexPoolRecovered = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 4)
)
reflexPoolRecovered.setObjects(
      *(("REFLEX-LB-MIB", "reflexPoolService"),
        ("REFLEX-LB-MIB", "reflexPoolMemberCount"),
        ("REFLEX-LB-MIB", "reflexPoolMembersUp"))
)
if mibBuilder.loadTexts:
    reflexPoolRecovered.setStatus(
        "current"
    )

reflexCarpStateChange = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 5)
)
reflexCarpStateChange.setObjects(
      *(("REFLEX-LB-MIB", "reflexCarpName"),
        ("REFLEX-LB-MIB", "reflexCarpInterface"),
        ("REFLEX-LB-MIB", "reflexCarpState"))
)
if mibBuilder.loadTexts:
    reflexCarpStateChange.setStatus(
        "current"
    )

reflexConfigCommitted = NotificationType(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 0, 6)
)
reflexConfigCommitted.setObjects(
      *(("REFLEX-LB-MIB", "reflexLastCommitId"),
        ("REFLEX-LB-MIB", "reflexLastCommitUser"),
        ("REFLEX-LB-MIB", "reflexLastCommitTime"),
        ("REFLEX-LB-MIB", "reflexLastCommitComment"))
)
if mibBuilder.loadTexts:
    reflexConfigCommitted.setStatus(
        "current"
    )


# Notifications groups

reflexNotificationsGroup = NotificationGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 6)
)
reflexNotificationsGroup.setObjects(
      *(("REFLEX-LB-MIB", "reflexMemberDown"),
        ("REFLEX-LB-MIB", "reflexMemberUp"),
        ("REFLEX-LB-MIB", "reflexPoolEmptyNotification"),
        ("REFLEX-LB-MIB", "reflexPoolRecovered"),
        ("REFLEX-LB-MIB", "reflexConfigCommitted"))
)
if mibBuilder.loadTexts:
    reflexNotificationsGroup.setStatus(
        "current"
    )

reflexCarpNotificationsGroup = NotificationGroup(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 2, 7)
)
reflexCarpNotificationsGroup.setObjects(
    ("REFLEX-LB-MIB", "reflexCarpStateChange")
)
if mibBuilder.loadTexts:
    reflexCarpNotificationsGroup.setStatus(
        "current"
    )


# Agent capabilities


# Module compliance

reflexLbCompliance = ModuleCompliance(
    (1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 2, 1, 1)
)
reflexLbCompliance.setObjects(
      *(("REFLEX-LB-MIB", "reflexGeneralGroup"),
        ("REFLEX-LB-MIB", "reflexServiceGroup"),
        ("REFLEX-LB-MIB", "reflexPoolGroup"),
        ("REFLEX-LB-MIB", "reflexMemberGroup"),
        ("REFLEX-LB-MIB", "reflexNotificationsGroup"),
        ("REFLEX-LB-MIB", "reflexCarpGroup"),
        ("REFLEX-LB-MIB", "reflexCarpNotificationsGroup"))
)
if mibBuilder.loadTexts:
    reflexLbCompliance.setStatus(
        "current"
    )


# Export all MIB objects to the MIB builder

mibBuilder.exportSymbols(
    "REFLEX-LB-MIB",
    **{"ReflexObjectName": ReflexObjectName,
       "ReflexMemberStatus": ReflexMemberStatus,
       "ReflexCarpGroupState": ReflexCarpGroupState,
       "reflexLbMIB": reflexLbMIB,
       "reflexLbNotifications": reflexLbNotifications,
       "reflexMemberDown": reflexMemberDown,
       "reflexMemberUp": reflexMemberUp,
       "reflexPoolEmptyNotification": reflexPoolEmptyNotification,
       "reflexPoolRecovered": reflexPoolRecovered,
       "reflexCarpStateChange": reflexCarpStateChange,
       "reflexConfigCommitted": reflexConfigCommitted,
       "reflexLbObjects": reflexLbObjects,
       "reflexGeneral": reflexGeneral,
       "reflexAgentVersion": reflexAgentVersion,
       "reflexAgentUptime": reflexAgentUptime,
       "reflexLastCommitId": reflexLastCommitId,
       "reflexLastCommitTime": reflexLastCommitTime,
       "reflexLastCommitUser": reflexLastCommitUser,
       "reflexLastCommitComment": reflexLastCommitComment,
       "reflexServiceCount": reflexServiceCount,
       "reflexPoolCount": reflexPoolCount,
       "reflexMemberCount": reflexMemberCount,
       "reflexMembersUp": reflexMembersUp,
       "reflexServiceTable": reflexServiceTable,
       "reflexServiceEntry": reflexServiceEntry,
       "reflexServiceName": reflexServiceName,
       "reflexServiceAddressType": reflexServiceAddressType,
       "reflexServiceAddress": reflexServiceAddress,
       "reflexServiceProtocol": reflexServiceProtocol,
       "reflexServicePort": reflexServicePort,
       "reflexServiceSticky": reflexServiceSticky,
       "reflexServiceReflect": reflexServiceReflect,
       "reflexServiceAlgorithm": reflexServiceAlgorithm,
       "reflexServicePool": reflexServicePool,
       "reflexServicePackets": reflexServicePackets,
       "reflexServiceBytes": reflexServiceBytes,
       "reflexServiceConnections": reflexServiceConnections,
       "reflexServiceStates": reflexServiceStates,
       "reflexPoolTable": reflexPoolTable,
       "reflexPoolEntry": reflexPoolEntry,
       "reflexPoolName": reflexPoolName,
       "reflexPoolService": reflexPoolService,
       "reflexPoolMemberCount": reflexPoolMemberCount,
       "reflexPoolMembersUp": reflexPoolMembersUp,
       "reflexPoolEmpty": reflexPoolEmpty,
       "reflexPoolLastChange": reflexPoolLastChange,
       "reflexMemberTable": reflexMemberTable,
       "reflexMemberEntry": reflexMemberEntry,
       "reflexMemberAddressType": reflexMemberAddressType,
       "reflexMemberAddress": reflexMemberAddress,
       "reflexMemberPort": reflexMemberPort,
       "reflexMemberWeight": reflexMemberWeight,
       "reflexMemberAdminState": reflexMemberAdminState,
       "reflexMemberOperStatus": reflexMemberOperStatus,
       "reflexMemberLastChange": reflexMemberLastChange,
       "reflexMemberLastCheck": reflexMemberLastCheck,
       "reflexMemberLastResult": reflexMemberLastResult,
       "reflexMemberError": reflexMemberError,
       "reflexMemberChecks": reflexMemberChecks,
       "reflexMemberFailures": reflexMemberFailures,
       "reflexMemberTransitions": reflexMemberTransitions,
       "reflexCarpTable": reflexCarpTable,
       "reflexCarpEntry": reflexCarpEntry,
       "reflexCarpVhid": reflexCarpVhid,
       "reflexCarpName": reflexCarpName,
       "reflexCarpInterface": reflexCarpInterface,
       "reflexCarpState": reflexCarpState,
       "reflexCarpLastChange": reflexCarpLastChange,
       "reflexLbConformance": reflexLbConformance,
       "reflexLbCompliances": reflexLbCompliances,
       "reflexLbCompliance": reflexLbCompliance,
       "reflexLbGroups": reflexLbGroups,
       "reflexGeneralGroup": reflexGeneralGroup,
       "reflexServiceGroup": reflexServiceGroup,
       "reflexPoolGroup": reflexPoolGroup,
       "reflexMemberGroup": reflexMemberGroup,
       "reflexCarpGroup": reflexCarpGroup,
       "reflexNotificationsGroup": reflexNotificationsGroup,
       "reflexCarpNotificationsGroup": reflexCarpNotificationsGroup}
)
