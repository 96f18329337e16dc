import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import { pageOf, type Route } from "../http/route.js";
import * as S from "../http/schemas.js";

const IdParams = Type.Object({ id: S.Id });
const MemberParams = Type.Object({ id: S.Id, deviceId: S.Id });

/** Groups and many-to-many membership. */
export function groupRoutes(deps: AppDeps): Route[] {
  const { groups } = deps.cloud;
  return [
    {
      method: "post",
      path: "/api/v1/groups",
      operationId: "createGroup",
      summary: "Create a group (names are unique).",
      tag: "groups",
      scope: "write",
      body: S.NewGroup,
      responses: {
        201: { description: "Created.", schema: S.Group },
        409: { description: "The name is taken." },
      },
      handler: async (ctx, { body }) => {
        const group = await groups.create(body as { name: string; description?: string });
        ctx.status = 201;
        ctx.set("Location", `/api/v1/groups/${group.id}`);
        ctx.body = group;
      },
    },
    {
      method: "get",
      path: "/api/v1/groups",
      operationId: "listGroups",
      summary: "List groups.",
      tag: "groups",
      scope: "read",
      query: Type.Object({ ...S.PageQuery }),
      responses: { 200: { description: "A page of groups.", schema: S.Page(S.Group) } },
      handler: async (ctx, { query }) => {
        ctx.body = await groups.list(pageOf(query));
      },
    },
    {
      method: "get",
      path: "/api/v1/groups/{id}",
      operationId: "getGroup",
      summary: "Read a group.",
      tag: "groups",
      scope: "read",
      params: IdParams,
      responses: {
        200: { description: "The group.", schema: S.Group },
        404: { description: "No such group." },
      },
      handler: async (ctx, { params }) => {
        ctx.body = await groups.get(params["id"] as string);
      },
    },
    {
      method: "patch",
      path: "/api/v1/groups/{id}",
      operationId: "updateGroup",
      summary: "Rename or describe a group.",
      tag: "groups",
      scope: "write",
      params: IdParams,
      body: S.GroupPatch,
      responses: {
        200: { description: "The group.", schema: S.Group },
        404: { description: "No such group." },
        409: { description: "The name is taken." },
      },
      handler: async (ctx, { params, body }) => {
        ctx.body = await groups.update(
          params["id"] as string,
          body as { name?: string; description?: string },
        );
      },
    },
    {
      method: "delete",
      path: "/api/v1/groups/{id}",
      operationId: "deleteGroup",
      summary: "Delete a group (its devices stay).",
      tag: "groups",
      scope: "write",
      params: IdParams,
      responses: { 204: { description: "Deleted." }, 404: { description: "No such group." } },
      handler: async (ctx, { params }) => {
        await groups.delete(params["id"] as string);
        ctx.status = 204;
      },
    },
    {
      method: "get",
      path: "/api/v1/groups/{id}/devices",
      operationId: "listGroupDevices",
      summary: "Device ids in a group.",
      tag: "groups",
      scope: "read",
      params: IdParams,
      query: Type.Object({ ...S.PageQuery }),
      responses: {
        200: { description: "A page of device ids.", schema: S.Page(S.Id) },
        404: { description: "No such group." },
      },
      handler: async (ctx, { params, query }) => {
        ctx.body = await groups.listDevices(params["id"] as string, pageOf(query));
      },
    },
    {
      method: "put",
      path: "/api/v1/groups/{id}/devices/{deviceId}",
      operationId: "addGroupDevice",
      summary: "Add a device to a group (idempotent).",
      tag: "groups",
      scope: "write",
      params: MemberParams,
      responses: { 204: { description: "Member." }, 404: { description: "No such group or device." } },
      handler: async (ctx, { params }) => {
        await groups.addDevice(params["id"] as string, params["deviceId"] as string);
        ctx.status = 204;
      },
    },
    {
      method: "delete",
      path: "/api/v1/groups/{id}/devices/{deviceId}",
      operationId: "removeGroupDevice",
      summary: "Remove a device from a group.",
      tag: "groups",
      scope: "write",
      params: MemberParams,
      responses: { 204: { description: "Removed." }, 404: { description: "Not a member." } },
      handler: async (ctx, { params }) => {
        await groups.removeDevice(params["id"] as string, params["deviceId"] as string);
        ctx.status = 204;
      },
    },
  ];
}
