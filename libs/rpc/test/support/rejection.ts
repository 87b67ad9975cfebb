import { AppError } from '@hongbao/contracts';

/** Awaits a promise that must reject with an AppError and returns that error. */
export async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error('expected the call to reject');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}
