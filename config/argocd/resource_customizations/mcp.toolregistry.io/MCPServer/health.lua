-- Argo CD health of an mcp.toolregistry.io MCPServer, read from its kstatus conditions.
--   Suspended   spec.suspend is true
--   Progressing no status yet, generation not yet synced, Reconciling=True, or being deleted
--               (Argo CD itself shows "Pending deletion" for any object being deleted)
--   Degraded    Stalled=True, or Ready=False after a failed sync, for the current generation
--   Healthy     Ready=True at the current generation (status.observedGeneration and the Ready
--               condition's observedGeneration both equal metadata.generation)
local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Suspended: the MCP server is not contacted; its MCPTools are kept"
  return hs
end

local status = obj.status or {}
local conditions = status.conditions
local ready = condition(conditions, "Ready")

if obj.metadata.deletionTimestamp ~= nil then
  local blocked = condition(conditions, "DeletionBlocked")
  hs.status = "Progressing"
  if blocked ~= nil and blocked.status == "True" then
    hs.message = blocked.message
  elseif ready ~= nil and ready.message ~= nil then
    hs.message = ready.message
  else
    hs.message = "Deleting"
  end
  return hs
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

-- A condition speaks for the current spec only when stamped with the current generation.
local function current(c)
  return c ~= nil and c.observedGeneration == obj.metadata.generation
end

local stalled = condition(conditions, "Stalled")
if current(stalled) and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end

if current(ready) and ready.status == "False" and ready.reason ~= "Progressing" then
  -- A failed sync: the operator retries with backoff, but the server is not serving this spec.
  hs.status = "Degraded"
  hs.message = ready.message
  return hs
end

local reconciling = condition(conditions, "Reconciling")
if status.observedGeneration == nil or status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  if current(reconciling) and reconciling.status == "True" then
    hs.message = reconciling.message
  else
    hs.message = "Waiting for the operator to sync generation " .. obj.metadata.generation
  end
  return hs
end

if ready.status == "True" and current(ready) then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = reconciling.message
elseif not current(ready) then
  hs.message = "Waiting for the operator to sync generation " .. obj.metadata.generation
else
  hs.message = ready.message
end
return hs
