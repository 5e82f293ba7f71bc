/** An error in words, read out as soon as it appears. */
export function ErrorMessage({ message, id }: { message: string | undefined; id?: string }) {
  if (message === undefined || message === '') return null;
  return (
    <p class="error" role="alert" id={id}>
      {message}
    </p>
  );
}
