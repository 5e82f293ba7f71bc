/**
 * POST /download/files: which files of a multi-file torrent to download, and in what order.
 * The service checks the indexes against the job's files and persists the choice.
 */
import type { FastifyInstance } from 'fastify';
import type { DownloadServiceApi, FileOptions } from '../../service/download-service-api.js';
import { routeSchema } from '../contract.js';

interface FileOptionsBody {
  id: string;
  selectedFiles?: number[] | null;
  sequential?: boolean;
}

export async function fileRoutes(app: FastifyInstance, options: { service: DownloadServiceApi }): Promise<void> {
  app.post<{ Body: FileOptionsBody }>(
    '/download/files',
    { schema: routeSchema('post', '/download/files') },
    (request) => {
      const { id, selectedFiles, sequential } = request.body;
      // Absent means "leave as it is"; `selectedFiles: null` means "all files".
      const changes: FileOptions = {
        ...(selectedFiles === undefined ? {} : { selectedFiles }),
        ...(sequential === undefined ? {} : { sequential }),
      };
      return options.service.setFileOptions(id, changes);
    },
  );
}
