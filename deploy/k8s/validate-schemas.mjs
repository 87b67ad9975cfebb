#!/usr/bin/env node
// Offline validation of Kubernetes manifests (the output of `kubectl kustomize`), no cluster:
//
//   node deploy/k8s/validate-schemas.mjs [--label NAME] [FILE ...]    (no FILE, or "-": stdin)
//
// All documents of all FILEs are checked as ONE set (what one `kubectl apply` would create):
//  1. schema: each object's apiVersion + kind picks its class in kubernetes-models (generated
//     from the Kubernetes OpenAPI schemas), whose validate() rejects a wrong type, a missing
//     required field or a bad enum value. An apiVersion/kind it does not know is an error too.
//     (The OpenAPI schemas allow unknown fields, so a misspelt optional field is not caught.)
//  2. what the API server would refuse although the schema allows it: names, a workload
//     selector that does not match its pod template, duplicate objects.
//  3. Pod Security "restricted" (the namespaces enforce it) for every pod template, and the
//     house rules: resources and probes on every long-running container.
//  4. references inside the set: Service / PDB selectors and named ports, HPA targets,
//     ConfigMaps, Secrets, ServiceAccounts, PVCs, Ingress backends, StatefulSet services, and
//     that an ingress-nginx canary Ingress shadows a main Ingress (same host and path).
// Prints one line per problem and exits 1 if there is any.
import { readFileSync } from 'node:fs';

let YAML;
try {
  YAML = (await import('yaml')).default;
  await import('kubernetes-models');
} catch (err) {
  console.error(`validate-schemas: cannot load "yaml" or "kubernetes-models" (${err.message}); run npm ci at the repo root`);
  process.exit(2);
}

const args = process.argv.slice(2);
let label = 'manifests';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--label') label = args[++i];
  else files.push(args[i]);
}
if (files.length === 0) files.push('-');

const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

// ---- parse ------------------------------------------------------------------------------
const objects = []; // {obj, where}
for (const file of files) {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  YAML.parseAllDocuments(text).forEach((doc, i) => {
    const at = `${file === '-' ? 'stdin' : file} doc ${i + 1}`;
    if (doc.errors.length) return fail(at, `YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJSON();
    if (obj === null || obj === undefined) return; // empty document
    if (typeof obj !== 'object' || Array.isArray(obj)) return fail(at, 'not a Kubernetes object (a mapping)');
    objects.push({ obj, where: `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'} (${at})` });
  });
}

// ---- 1. schema --------------------------------------------------------------------------
const API_VERSION = /^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v\d+(?:(?:alpha|beta)\d+)?$/;
const modules = new Map();
async function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) return undefined;
  if (!modules.has(apiVersion)) modules.set(apiVersion, await import(`kubernetes-models/${apiVersion}`).catch(() => null));
  const Model = modules.get(apiVersion)?.[kind];
  // The group modules also export the nested types (DeploymentSpec, ...): only real kinds count.
  return typeof Model === 'function' && Model.kind === kind && Model.apiVersion === apiVersion ? Model : undefined;
}

const valid = []; // objects that passed the schema; the later checks read only these
for (const { obj, where } of objects) {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    fail(where, 'apiVersion and kind are required');
    continue;
  }
  const Model = await modelClass(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(where, `unknown kind "${obj.kind}" in apiVersion "${obj.apiVersion}" (not a Kubernetes built-in kind known to kubernetes-models)`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (err) {
    const list = Array.isArray(err.errors) ? err.errors : [{ instancePath: '', message: err.message }];
    for (const e of list) {
      const extra = e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '';
      fail(where, `schema: ${e.instancePath || '/'} ${e.message}${extra}`);
    }
    continue;
  }
  if (typeof obj.metadata?.name !== 'string') {
    fail(where, 'metadata.name is required');
    continue;
  }
  valid.push({ obj, where });
}

// ---- helpers ----------------------------------------------------------------------------
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ns = (o) => o.metadata.namespace ?? '';
const key = (kind, namespace, name) => `${kind}/${namespace}/${name}`;
const index = new Map(valid.map(({ obj }) => [key(obj.kind, ns(obj), obj.metadata.name), obj]));
const has = (kind, namespace, name) => index.has(key(kind, namespace, name));
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** Pod templates: {owner, namespace, labels, spec, longRunning, claimNames} */
const pods = [];
for (const { obj, where } of valid) {
  const namespace = ns(obj);
  const add = (template, longRunning, claimNames = []) =>
    template?.spec && pods.push({ owner: obj, where, namespace, labels: template.metadata?.labels ?? {}, spec: template.spec, longRunning, claimNames });
  switch (obj.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      add(obj.spec.template, true);
      break;
    case 'StatefulSet':
      add(obj.spec.template, true, (obj.spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name));
      break;
    case 'Job':
      add(obj.spec.template, false);
      break;
    case 'CronJob':
      add(obj.spec.jobTemplate?.spec?.template, false);
      break;
    case 'Pod':
      add({ metadata: obj.metadata, spec: obj.spec }, true);
      break;
  }
}
const containersOf = (spec) => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];

// ---- 2. what the API server refuses -----------------------------------------------------
const seen = new Set();
for (const { obj, where } of valid) {
  const k = key(obj.kind, ns(obj), obj.metadata.name);
  if (seen.has(k)) fail(where, 'duplicate object (same kind, namespace and name)');
  seen.add(k);
  const nameRule = ['Service', 'Namespace'].includes(obj.kind) ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!nameRule.test(obj.metadata.name) || obj.metadata.name.length > (nameRule === DNS_LABEL ? 63 : 253)) {
    fail(where, `metadata.name "${obj.metadata.name}" is not a valid ${nameRule === DNS_LABEL ? 'DNS label' : 'DNS subdomain'}`);
  }
  const selector = obj.spec?.selector;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(obj.kind)) {
    if (!selector?.matchLabels && !selector?.matchExpressions) fail(where, 'spec.selector selects nothing');
    else if (!matches(selector.matchLabels, obj.spec.template?.metadata?.labels)) {
      fail(where, 'spec.selector.matchLabels does not match spec.template.metadata.labels');
    }
  }
}
for (const pod of pods) {
  const names = new Set();
  for (const c of containersOf(pod.spec)) {
    if (!DNS_LABEL.test(c.name)) fail(pod.where, `container name "${c.name}" is not a DNS label`);
    if (names.has(c.name)) fail(pod.where, `two containers named "${c.name}"`);
    names.add(c.name);
  }
}

// ---- 3. Pod Security "restricted" and house rules ---------------------------------------
const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
for (const pod of pods) {
  const s = pod.spec;
  const psc = s.securityContext ?? {};
  const bad = (msg) => fail(pod.where, `pod security (restricted): ${msg}`);
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (s[f]) bad(`${f} must not be true`);
  for (const v of s.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!ALLOWED_VOLUMES.includes(type)) bad(`volume "${v.name}" of type ${type} is not allowed`);
  }
  for (const c of containersOf(s)) {
    const sc = c.securityContext ?? {};
    const at = `container "${c.name}"`;
    if (sc.privileged) bad(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) bad(`${at}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) bad(`${at}: capabilities.drop must contain ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') bad(`${at}: capability ${cap} may not be added`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) bad(`${at}: runAsNonRoot must be true (pod or container)`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) bad(`${at}: runAsUser must not be 0`);
    const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) bad(`${at}: seccompProfile.type must be RuntimeDefault or Localhost`);
    for (const p of c.ports ?? []) if (p.hostPort) bad(`${at}: hostPort ${p.hostPort}`);

    const r = c.resources ?? {};
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) if (r[kind]?.[res] === undefined) fail(pod.where, `${at}: resources.${kind}.${res} is not set`);
    }
  }
  if (pod.longRunning) {
    for (const c of s.containers ?? []) {
      if (!c.readinessProbe) fail(pod.where, `container "${c.name}": no readinessProbe`);
      if (!c.livenessProbe) fail(pod.where, `container "${c.name}": no livenessProbe`);
    }
  }
}

// ---- 4. references inside the set -------------------------------------------------------
const podsIn = (namespace, selector) => pods.filter((p) => p.namespace === namespace && p.longRunning && matches(selector, p.labels));
const portNames = (pod) => new Set(containersOf(pod.spec).flatMap((c) => (c.ports ?? []).map((p) => p.name)));

for (const pod of pods) {
  const need = (kind, name, what) => {
    if (name && !has(kind, pod.namespace, name)) fail(pod.where, `${what}: ${kind} "${name}" is not in this set`);
  };
  if (pod.spec.serviceAccountName && pod.spec.serviceAccountName !== 'default') need('ServiceAccount', pod.spec.serviceAccountName, 'serviceAccountName');
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap && !v.configMap.optional) need('ConfigMap', v.configMap.name, `volume "${v.name}"`);
    if (v.secret && !v.secret.optional) need('Secret', v.secret.secretName, `volume "${v.name}"`);
    if (v.persistentVolumeClaim) need('PersistentVolumeClaim', v.persistentVolumeClaim.claimName, `volume "${v.name}"`);
  }
  const volumeNames = new Set([...(pod.spec.volumes ?? []).map((v) => v.name), ...pod.claimNames]);
  for (const c of containersOf(pod.spec)) {
    const at = `container "${c.name}"`;
    for (const src of c.envFrom ?? []) {
      if (src.configMapRef && !src.configMapRef.optional) need('ConfigMap', src.configMapRef.name, `${at} envFrom`);
      if (src.secretRef && !src.secretRef.optional) need('Secret', src.secretRef.name, `${at} envFrom`);
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm && !cm.optional) need('ConfigMap', cm.name, `${at} env ${e.name}`);
      if (sec && !sec.optional) need('Secret', sec.name, `${at} env ${e.name}`);
    }
    for (const m of c.volumeMounts ?? []) if (!volumeNames.has(m.name)) fail(pod.where, `${at}: volumeMount "${m.name}" has no volume`);
    const names = new Set((c.ports ?? []).map((p) => p.name));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
      if (typeof port === 'string' && !names.has(port)) fail(pod.where, `${at}: ${probe} uses port "${port}", which the container does not name`);
    }
  }
}

for (const { obj, where } of valid) {
  const namespace = ns(obj);
  switch (obj.kind) {
    case 'Service': {
      if (!obj.spec?.selector) break; // selector-less Services are fed by hand-made endpoints
      const selected = podsIn(namespace, obj.spec.selector);
      if (selected.length === 0) {
        fail(where, `selector ${JSON.stringify(obj.spec.selector)} matches no pod template in this set`);
        break;
      }
      for (const p of obj.spec.ports ?? []) {
        if (typeof p.targetPort === 'string' && !selected.some((pod) => portNames(pod).has(p.targetPort))) {
          fail(where, `targetPort "${p.targetPort}" is not a port name of the selected pods`);
        }
      }
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const t = obj.spec.scaleTargetRef;
      if (!has(t.kind, namespace, t.name)) fail(where, `scaleTargetRef ${t.kind} "${t.name}" is not in this set`);
      break;
    }
    case 'PodDisruptionBudget':
      if (podsIn(namespace, obj.spec.selector?.matchLabels).length === 0) fail(where, 'selector matches no pod template in this set');
      break;
    case 'StatefulSet':
      if (obj.spec.serviceName && !has('Service', namespace, obj.spec.serviceName)) fail(where, `serviceName "${obj.spec.serviceName}" is not a Service in this set`);
      break;
    case 'Ingress': {
      const backends = [obj.spec.defaultBackend, ...(obj.spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend))];
      for (const b of backends.filter((x) => x?.service)) {
        const svc = index.get(key('Service', namespace, b.service.name));
        if (!svc) fail(where, `backend Service "${b.service.name}" is not in this set`);
        else if (b.service.port?.name && !(svc.spec.ports ?? []).some((p) => p.name === b.service.port.name)) {
          fail(where, `backend Service "${b.service.name}" has no port named "${b.service.port.name}"`);
        }
      }
      // ingress-nginx ignores a canary Ingress whose host and path no main Ingress serves.
      if (obj.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true') {
        const mains = valid.filter(
          (o) => o.obj.kind === 'Ingress' && ns(o.obj) === namespace && o.obj.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] !== 'true',
        );
        for (const r of obj.spec.rules ?? []) {
          for (const p of r.http?.paths ?? []) {
            const served = mains.some((m) => (m.obj.spec.rules ?? []).some((mr) => mr.host === r.host && (mr.http?.paths ?? []).some((mp) => mp.path === p.path)));
            if (!served) fail(where, `canary for host "${r.host ?? '*'}" path "${p.path}", which no main (non-canary) Ingress in this set serves`);
          }
        }
      }
      break;
    }
  }
}

// ---- report -----------------------------------------------------------------------------
for (const e of errors) console.log(`  ✖ ${e}`);
const kinds = {};
for (const { obj } of valid) kinds[obj.kind] = (kinds[obj.kind] ?? 0) + 1;
const summary = Object.entries(kinds)
  .sort()
  .map(([k, n]) => `${n} ${k}`)
  .join(', ');
console.log(`${errors.length ? '✖' : '✔'} ${label}: ${objects.length} objects, ${errors.length} problems${summary ? ` (${summary})` : ''}`);
process.exit(errors.length ? 1 : 0);
