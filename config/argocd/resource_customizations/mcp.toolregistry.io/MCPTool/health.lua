-- Argo CD health of an mcp.toolregistry.io MCPTool (created by the operator for each tool an
-- MCPServer offers), read from its Ready condition.
--   Suspended   its server is suspended, or an override disabled the tool
--   Progressing no status yet, a status or Ready condition older than the current generation,
--               or being deleted
--   Degraded    its server is missing or not ready, or its pinned definition changed (or it
--               must be pinned): a person has to review it
--   Healthy     Ready=True at the current generation
local hs = {}

local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local ready = condition("Ready")

if obj.metadata.deletionTimestamp ~= nil then
  local blocked = condition("DeletionBlocked")
  hs.status = "Progressing"
  hs.message = "Deleting"
  if blocked ~= nil and blocked.status == "True" then
    hs.message = blocked.message
  end
  return hs
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

-- A status speaks for the current spec only when stamped with the current generation: the
-- object's status.observedGeneration and its Ready condition's observedGeneration.
local generation = obj.metadata.generation
if obj.status.observedGeneration ~= generation or ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.reason == "ServerSuspended" or ready.reason == "ToolDisabled" then
  hs.status = "Suspended"
elseif ready.reason == "ServerNotFound" or ready.reason == "ServerNotReady" or ready.reason == "DefinitionChanged" or ready.reason == "PinRequired" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = ready.message
return hs
