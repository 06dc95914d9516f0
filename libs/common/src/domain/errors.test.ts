import {
  BadRequest, ComputeHostNotFound, Conflict, DOMAIN_ERROR_TYPES, FerryError, FlavorNotFound, Forbidden, ImageNotFound,
  InstanceInvalidState, InstanceNotFound, InvalidInput, InvalidTransition, MigrationNotFound, MigrationPreCheckError,
  NoValidHost, NotAcceptable, NotAuthenticated, NotFound, OPENSTACK_FAULT_NAMES, ServiceUnavailable, TooManyRequests, errorTypeFor,
  openstackErrorBody, openstackFaultName,
} from './index';

const probe = (ctor: (typeof DOMAIN_ERROR_TYPES)[number]) => new ctor('probe');

describe('typed errors (as data)', () => {
  it('every code is unique, registered, and rebuilds to its own class', () => {
    const codes = DOMAIN_ERROR_TYPES.map((c) => probe(c).code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const ctor of DOMAIN_ERROR_TYPES) {
      const err = probe(ctor);
      expect(err).toBeInstanceOf(FerryError);
      expect(err.name).toBe(ctor.name);
      expect(errorTypeFor(err.code)).toBe(ctor);
    }
  });

  it.each([
    [InvalidTransition, 500], [NotFound, 404], [InstanceNotFound, 404], [FlavorNotFound, 404], [ImageNotFound, 404],
    [MigrationNotFound, 404], [ComputeHostNotFound, 404], [BadRequest, 400], [InvalidInput, 400],
    [InstanceInvalidState, 409], [Conflict, 409], [Forbidden, 403], [NotAuthenticated, 401], [NotAcceptable, 406],
    [NoValidHost, 400], [MigrationPreCheckError, 400], [ServiceUnavailable, 503],
  ] as const)('%p answers HTTP %d', (ctor, status) => {
    expect(probe(ctor).httpStatus).toBe(status);
  });

  it('only outages are retryable', () => {
    for (const ctor of DOMAIN_ERROR_TYPES) expect(probe(ctor).retryable).toBe(ctor === ServiceUnavailable || ctor === TooManyRequests);
  });

  it('keeps the families as subclasses and carries details', () => {
    const e = InstanceNotFound.forId('abc');
    expect(e).toBeInstanceOf(NotFound);
    expect(e.message).toBe('Instance abc could not be found.');
    expect(e.toFailure()).toEqual({ type: 'InstanceNotFound', message: e.message, retryable: false, details: { instance_id: 'abc' } });
    expect(InstanceInvalidState.forAction('abc', 'resize', 'vm_state', 'rescued')).toBeInstanceOf(Conflict);
    expect(InvalidInput.prototype).toBeInstanceOf(BadRequest);
  });
});

describe('OpenStack error bodies', () => {
  it.each([
    [400, 'badRequest'], [401, 'unauthorized'], [403, 'forbidden'], [404, 'itemNotFound'], [405, 'badMethod'],
    [406, 'computeFault'], [409, 'conflictingRequest'], [413, 'overLimit'], [500, 'computeFault'], [503, 'serviceUnavailable'],
  ])('HTTP %d is named %s', (status, name) => {
    expect(openstackFaultName(status)).toBe(name);
  });

  it('every fault name in the table is a non-empty string', () => {
    for (const name of Object.values(OPENSTACK_FAULT_NAMES)) expect(name).toMatch(/^[a-zA-Z]+$/);
  });

  it('renders a typed error with its status and message', () => {
    expect(openstackErrorBody(FlavorNotFound.forId('42'))).toEqual({ itemNotFound: { code: 404, message: 'Flavor 42 could not be found.' } });
    expect(openstackErrorBody(new InstanceInvalidState('busy'))).toEqual({ conflictingRequest: { code: 409, message: 'busy' } });
  });

  it('hides the message of an untyped error behind a 500', () => {
    const body = openstackErrorBody(new Error('connection string postgres://secret@db'));
    expect(body.computeFault.code).toBe(500);
    expect(body.computeFault.message).not.toContain('secret');
  });
});
